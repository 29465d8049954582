"""The customer status page in the customer's language: English, Danish and Indonesian.

Staff pages are in English. The customer's page speaks the incident's `customer.language`
(English when we have no page in it); the step texts come from the playbook
(`customer_text` / `customer_next` and their `translations`), the page's own words from
the table below. Dates are written as the letters write them.
"""

from __future__ import annotations

from recovery.domain.playbook import StepDef
from recovery.letters.i18n import DEFAULT_LOCALE, LOCALES, pick_locale

__all__ = ["DEFAULT_LOCALE", "LANGUAGE_NAMES", "LOCALES", "pick_locale", "step_text", "words"]

LANGUAGE_NAMES = {"en": "English", "da": "Dansk", "id": "Bahasa Indonesia"}

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your case",
        "intro": "This page shows what we have done to put things right, and what we will "
        "still do, by when.",
        "opened": "Case opened {when}",
        "done": "What we have done",
        "next": "What happens next",
        "by": "by {when}",
        "late": "This is late; it is our first priority now.",
        "eta": "We expect everything to be done by {when}.",
        "closed": "Everything is done and your case is closed. Thank you for your patience.",
        "released": "We could not solve this well ourselves. This is who can help you:",
        "nothing_done": "Nothing yet: we have just started.",
        "nothing_next": "Nothing more is waiting.",
        "generic_done": "One more step of our recovery is done.",
        "generic_next": "One more step we are working on.",
        "updated": "Last updated {when}",
        "language": "Language",
        "not_found_title": "Link not valid",
        "not_found": "This link is not valid or no longer active. Please ask us for a new one.",
        "private": "This page is for you only: please do not share the link.",
        "next_working_day": "next working day, {when}",
        "waiting": "We are waiting for: {reason}",
        "waiting_step": "on hold, waiting for: {reason}",
        "times_in": "Times are {place} time ({zone}).",
    },
    "da": {
        "title": "Din sag",
        "intro": "Her kan du se, hvad vi har gjort for at rette op på det, og hvad vi "
        "stadig vil gøre, og hvornår.",
        "opened": "Sagen blev oprettet {when}",
        "done": "Det har vi gjort",
        "next": "Det gør vi nu",
        "by": "senest {when}",
        "late": "Vi er forsinket med dette; det har nu første prioritet.",
        "eta": "Vi forventer, at alt er gjort senest {when}.",
        "closed": "Alt er gjort, og din sag er afsluttet. Tak for din tålmodighed.",
        "released": "Vi kunne ikke selv løse det godt nok. Her kan du få hjælp:",
        "nothing_done": "Intet endnu: vi er lige gået i gang.",
        "nothing_next": "Der er ikke mere, der venter.",
        "generic_done": "Endnu et trin er gjort.",
        "generic_next": "Endnu et trin, vi arbejder på.",
        "updated": "Senest opdateret {when}",
        "language": "Sprog",
        "not_found_title": "Linket er ikke gyldigt",
        "not_found": "Linket er ikke gyldigt eller ikke længere aktivt. Bed os om et nyt.",
        "private": "Siden er kun til dig: del venligst ikke linket.",
        "next_working_day": "næste arbejdsdag, {when}",
        "waiting": "Vi venter på: {reason}",
        "waiting_step": "sat i bero, vi venter på: {reason}",
        "times_in": "Tidspunkter er lokal tid i {place} ({zone}).",
    },
    "id": {
        "title": "Kasus Anda",
        "intro": "Halaman ini menunjukkan apa yang sudah kami lakukan untuk memperbaiki "
        "keadaan, dan apa yang masih akan kami lakukan, beserta batas waktunya.",
        "opened": "Kasus dibuka {when}",
        "done": "Yang sudah kami lakukan",
        "next": "Langkah selanjutnya",
        "by": "paling lambat {when}",
        "late": "Langkah ini terlambat; sekarang ini prioritas utama kami.",
        "eta": "Kami perkirakan semuanya selesai paling lambat {when}.",
        "closed": "Semuanya sudah selesai dan kasus Anda telah ditutup. Terima kasih atas "
        "kesabaran Anda.",
        "released": "Kami tidak dapat menyelesaikannya dengan baik sendiri. Pihak berikut "
        "dapat membantu Anda:",
        "nothing_done": "Belum ada: kami baru saja mulai.",
        "nothing_next": "Tidak ada lagi yang tertunda.",
        "generic_done": "Satu langkah pemulihan lagi telah selesai.",
        "generic_next": "Satu langkah lagi sedang kami kerjakan.",
        "updated": "Terakhir diperbarui {when}",
        "language": "Bahasa",
        "not_found_title": "Tautan tidak berlaku",
        "not_found": "Tautan ini tidak berlaku atau sudah tidak aktif. Silakan minta tautan "
        "baru kepada kami.",
        "private": "Halaman ini hanya untuk Anda: mohon jangan bagikan tautannya.",
        "next_working_day": "hari kerja berikutnya, {when}",
        "waiting": "Kami sedang menunggu: {reason}",
        "waiting_step": "ditunda, menunggu: {reason}",
        "times_in": "Waktu yang tertera adalah waktu {place} ({zone}).",
    },
}


def words(locale: str) -> dict[str, str]:
    return WORDS[pick_locale(locale)]


def step_text(step: StepDef, locale: str, *, done: bool) -> str | None:
    """What the customer reads for a step: done (`customer_text`) or still to do
    (`customer_next`, else `customer_text`), in `locale` when the playbook has it."""
    locale = pick_locale(locale)
    english_next = step.customer_next or step.customer_text
    english = step.customer_text if done else english_next
    translated = step.translations.get(locale)
    if locale == DEFAULT_LOCALE or translated is None:
        return english
    local = (
        translated.customer_text if done else (translated.customer_next or translated.customer_text)
    )
    return local or english
