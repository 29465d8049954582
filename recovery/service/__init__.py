"""The service layer: the `Recovery` engine facade and its queries."""
