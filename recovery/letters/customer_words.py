"""The customer's words: what the status page (and a subject access export) says to the
customer in English, Danish and Indonesian.

The customer reads the incident's `customer.language` (English when there are no words in
it); the step texts come from the playbook (`customer_text` / `customer_next` and their
`translations`), the page's own words from the table below. Dates are written as the
letters write them (`letters.i18n`).
"""

from __future__ import annotations

from recovery.domain.playbook import StepDef
from recovery.letters.i18n import DEFAULT_LOCALE, pick_locale

__all__ = [
    "CALLBACK_WORDS",
    "LANGUAGE_NAMES",
    "WORDS",
    "step_text",
    "words",
]

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
        "updates": "Updates",
        "new_owner": "Someone new is now looking after your case. They have the whole "
        "story: you do not need to tell it again.",
        "deadlines_moved": "We are working on your case again; the times below are the new ones.",
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
        "updates": "Opdateringer",
        "new_owner": "En ny medarbejder tager sig nu af din sag. Vedkommende kender hele "
        "historien: du behøver ikke fortælle den igen.",
        "deadlines_moved": "Vi arbejder på din sag igen; tidspunkterne nedenfor er de nye.",
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
        "updates": "Kabar terbaru",
        "new_owner": "Kasus Anda kini ditangani oleh petugas baru. Ia sudah mengetahui "
        "seluruh ceritanya: Anda tidak perlu menceritakannya lagi.",
        "deadlines_moved": "Kami kembali menangani kasus Anda; waktu di bawah ini adalah "
        "waktu yang baru.",
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
    (`customer_next`), in `locale` when the playbook has it. A step still to do is never
    worded as done: without a `customer_next` there is no text (the page says it plainly)."""
    locale = pick_locale(locale)
    english = step.customer_text if done else step.customer_next
    translated = step.translations.get(locale)
    if locale == DEFAULT_LOCALE or translated is None:
        return english
    local = translated.customer_text if done else translated.customer_next
    return local or english


# The status page's callback form (what the customer reads when asking to be called back).
CALLBACK_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "callback_title": "Would you like us to call you?",
        "callback_intro": "Leave a number and a short message if you like; the person "
        "looking after your case will see it.",
        "callback_phone": "Phone (optional)",
        "callback_message": "Message (optional, at most {most} characters)",
        "callback_send": "Ask to be called back",
        "callback_received": "We have your request, sent {when}.",
        "callback_limit": "You have asked {limit} times in the last hour and we have your "
        "requests. Please try again later.",
        "callback_bad": "Please check the phone number (digits, spaces and + ( ) - only) "
        "and keep the message to {most} characters.",
    },
    "da": {
        "callback_title": "Vil du gerne ringes op?",
        "callback_intro": "Skriv et nummer og en kort besked, hvis du vil; den, der tager "
        "sig af din sag, ser den.",
        "callback_phone": "Telefon (valgfrit)",
        "callback_message": "Besked (valgfri, højst {most} tegn)",
        "callback_send": "Bed om at blive ringet op",
        "callback_received": "Vi har modtaget din anmodning, sendt {when}.",
        "callback_limit": "Du har spurgt {limit} gange inden for den seneste time, og vi har "
        "dine anmodninger. Prøv venligst igen senere.",
        "callback_bad": "Tjek telefonnummeret (kun cifre, mellemrum og + ( ) -), og hold "
        "beskeden på højst {most} tegn.",
    },
    "id": {
        "callback_title": "Ingin kami telepon?",
        "callback_intro": "Tinggalkan nomor dan pesan singkat bila Anda mau; petugas yang "
        "menangani kasus Anda akan melihatnya.",
        "callback_phone": "Telepon (opsional)",
        "callback_message": "Pesan (opsional, paling banyak {most} karakter)",
        "callback_send": "Minta ditelepon kembali",
        "callback_received": "Permintaan Anda sudah kami terima, dikirim {when}.",
        "callback_limit": "Anda sudah meminta {limit} kali dalam satu jam terakhir dan "
        "permintaan Anda sudah kami terima. Silakan coba lagi nanti.",
        "callback_bad": "Periksa nomor telepon (hanya angka, spasi, dan + ( ) -) dan "
        "batasi pesan paling banyak {most} karakter.",
    },
}
for _code, _extra in CALLBACK_WORDS.items():
    WORDS[_code].update(_extra)
