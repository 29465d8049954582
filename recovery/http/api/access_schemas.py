"""Request and response models of the access routes: sign-in, sessions, users and tokens."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from recovery.http.api.schemas import ReadModel
from recovery.service.accounts import NAME_PATTERN

Username = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Role = Literal["front_desk", "manager", "auditor", "integration", "admin"]
SiteName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class LoginCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    password: Password


class PrincipalRead(ReadModel):
    kind: Literal["user", "token"]
    name: str
    role: str
    sites: list[str]
    permissions: list[str]


class SessionRead(ReadModel):
    token: str = Field(description="send as `Authorization: Bearer <token>` (or the cookie)")
    token_type: Literal["bearer"] = "bearer"
    expires_at: str
    principal: PrincipalRead


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Annotated[str, StringConstraints(min_length=8, max_length=1024)]
    role: Role
    sites: list[SiteName] = Field(min_length=1, max_length=500, description='or ["*"]')


class UserRead(ReadModel):
    username: str
    role: str
    sites: list[str]
    created_at: str
    disabled_at: str | None
    active: bool


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Username
    role: Role
    sites: list[SiteName] = Field(min_length=1, max_length=500, description='or ["*"]')


class TokenRead(ReadModel):
    id: str
    name: str
    role: str
    sites: list[str]
    created_at: str
    revoked_at: str | None
    active: bool


class TokenCreated(TokenRead):
    token: str = Field(description="the secret: shown this once, stored only as a hash")
