"""Reads of patients and consents shared by pages, the API and other apps."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable

from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat

from .models import ConsentChannel, ConsentKind, ConsentRecord, Patient

# Long queries are cut: nobody types more, and every word is one more LIKE.
MAX_QUERY_LENGTH = 100
MAX_QUERY_WORDS = 5
MIN_PHONE_DIGITS = 4
_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*", re.UNICODE)


def fold(text: str) -> str:
    """Lower case with ё as е: how ``Patient.search_name`` is computed in PostgreSQL."""
    return text.lower().replace("ё", "е")


def search_words(query: str) -> list[str]:
    return [fold(word) for word in _WORD.findall(query[:MAX_QUERY_LENGTH])][:MAX_QUERY_WORDS]


def _phone_condition(query: str) -> Q | None:
    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    # Trigram index on phone: LIKE '%digits%'.
    condition = Q(phone__contains=digits)
    if digits.startswith("8") and not query.lstrip().startswith("+"):
        # Russians dial 8 for +7: "8 916 12…" means "+7916 12…".
        condition |= Q(phone__startswith="+7" + digits[1:])
    return condition


def _card_number_condition(query: str) -> Q | None:
    """A query that is a card number ("#123", or a bare "123") finds that card."""
    stripped = query.strip().lstrip("#")
    if stripped.isdigit() and len(stripped) <= 12:
        return Q(pk=int(stripped))
    return None


def patient_search(
    *, query: str = "", patients: QuerySet[Patient] | None = None, limit: int | None = None
) -> QuerySet[Patient]:
    """Live (not merged) patients among ``patients`` (all cards by default; pages pass
    what the user may see, ``patients.access.patients_visible``) matching ``query``, by
    name then id.

    Every word of the query must occur in the folded full name ("петр ива" finds
    "Петров Иван"); four or more digits search the phone number as a fragment; a bare
    number also finds the card with that id, and "#123" finds only that card. Both
    LIKEs are served by trigram GIN indexes (``patient_search_name_trgm``,
    ``patient_phone_trgm``).
    """
    patients = (Patient.objects.all() if patients is None else patients).filter(
        merged_into__isnull=True
    )
    patients = patients.select_related("home_branch")
    query = (query or "").strip()[:MAX_QUERY_LENGTH]
    if query.startswith("#"):
        card = _card_number_condition(query)
        return patients.filter(card) if card is not None else patients.none()
    if query:
        words = search_words(query)
        conditions = []
        if words:
            name_condition = Q()
            for word in words:
                # search_name is folded already, so a case-sensitive LIKE is enough and
                # uses the trigram index (icontains would wrap the column in UPPER()).
                name_condition &= Q(search_name__contains=word)
            conditions.append(name_condition)
        phone = _phone_condition(query)
        if phone is not None:
            conditions.append(phone)
        # Words and digits together ("Иванов 4567") must both match.
        condition = None
        for part in conditions:
            condition = part if condition is None else condition & part
        card = _card_number_condition(query)
        if card is not None:
            condition = card if condition is None else condition | card
        if condition is None:
            return patients.none()
        patients = patients.filter(condition)
        if words:
            return _limited(patients.order_by(*_NAME_ORDER_WITHOUT_INDEX), limit)
    return _limited(patients.order_by("last_name", "first_name", "id"), limit)


# A search lists at most this many patients. A fragment such as "петр" matches tens of
# thousands of cards at a million patients; sorting all of them to show the first page
# cost more than the rest of the page together, and nobody reads that far: the page
# asks for more of the name, the phone or the card number instead.
SEARCH_CAP = 1000


def patient_search_bounded(
    *, query: str = "", patients: QuerySet[Patient] | None = None, cap: int | None = None
) -> tuple[QuerySet[Patient], bool]:
    """:func:`patient_search` for the search page: at most ``cap`` matches, in the same
    order, and whether more matched. Finding the matches stops after ``cap + 1`` rows
    (no sort), then only those are sorted by name."""
    cap = SEARCH_CAP if cap is None else cap
    matches = patient_search(query=query, patients=patients)
    if not (query or "").strip():
        return matches, False  # the whole list, walked along the name index
    found = list(matches.order_by().values_list("pk", flat=True)[: cap + 1])
    return matches.filter(pk__in=found[:cap]), len(found) > cap


# The list's order, written so that PostgreSQL cannot walk the name index for it.
# For a name search it otherwise walks ``patient_name_order`` and filters each row: fast
# when matches are spread over the alphabet (first names), but a last name matches one
# stretch of it, and "Смирнова" among a million patients meant reading 800,000 rows
# (2 s). Fetching the matches through the trigram index and sorting them costs in
# proportion to the matches instead. Same order: last_name is never NULL.
_NAME_ORDER_WITHOUT_INDEX = (Concat("last_name", Value("")), "first_name", "id")


def _limited(patients: QuerySet[Patient], limit: int | None) -> QuerySet[Patient]:
    return patients[:limit] if limit is not None else patients


# What the card page shows with the card.
DETAIL_RELATED = ("home_branch", "referred_by", "family_group", "merged_into")


def likely_duplicates_for(
    *,
    last_name: str,
    first_name: str,
    birth_date: datetime.date | None,
    phone: str,
    exclude_id: int | None = None,
) -> QuerySet[Patient]:
    """Live cards with the same phone, or the same last and first name (any case) and
    birth date. ``phone`` is in E.164."""
    condition = Q()
    if phone:
        condition |= Q(phone=phone)
    if last_name and first_name and birth_date:
        condition |= Q(
            last_name__iexact=last_name.strip(),
            first_name__iexact=first_name.strip(),
            birth_date=birth_date,
        )
    if not condition:
        return Patient.objects.none()
    duplicates = Patient.objects.filter(condition, merged_into__isnull=True)
    if exclude_id is not None:
        duplicates = duplicates.exclude(pk=exclude_id)
    return duplicates.select_related("home_branch").order_by("last_name", "first_name", "id")


def likely_duplicates(*, patient: Patient) -> QuerySet[Patient]:
    if patient.merged_into_id is not None:
        return Patient.objects.none()
    return likely_duplicates_for(
        last_name=patient.last_name,
        first_name=patient.first_name,
        birth_date=patient.birth_date,
        phone=patient.phone,
        exclude_id=patient.pk,
    )


def family_members(*, patient: Patient) -> QuerySet[Patient]:
    if patient.family_group_id is None:
        return Patient.objects.none()
    return (
        Patient.objects.filter(family_group_id=patient.family_group_id, merged_into__isnull=True)
        .exclude(pk=patient.pk)
        .order_by("birth_date", "id")
    )


def referrals(*, patient: Patient) -> QuerySet[Patient]:
    return patient.referrals.filter(merged_into__isnull=True).order_by("-created_at", "-id")


def consent_history(*, patient: Patient) -> QuerySet[ConsentRecord]:
    """Every consent record of the patient, newest first."""
    return (
        ConsentRecord.objects.filter(patient=patient)
        .select_related("recorded_by")
        .order_by("-recorded_at", "-id")
    )


def _latest_per_key(records: Iterable[ConsentRecord]) -> dict[tuple[str, str], ConsentRecord]:
    state: dict[tuple[str, str], ConsentRecord] = {}
    for record in records:
        key = (record.kind, record.channel)
        current = state.get(key)
        if current is None or (record.recorded_at, record.pk) > (current.recorded_at, current.pk):
            state[key] = record
    return state


def consent_state(
    patient: Patient, *, history: Iterable[ConsentRecord] | None = None
) -> dict[tuple[str, str], ConsentRecord]:
    """The current consent per (kind, channel): the latest record for that pair.

    Pass ``history`` (e.g. ``consent_history``'s rows, already fetched for a page) to
    avoid a second query.
    """
    if history is None:
        history = (
            ConsentRecord.objects.filter(patient=patient)
            .order_by("kind", "channel", "-recorded_at", "-id")
            .distinct("kind", "channel")
            .select_related("recorded_by")
        )
    return _latest_per_key(history)


def has_consent(patient: Patient, kind: str, channel: str) -> bool:
    """Whether ``patient`` currently consents to ``kind`` on ``channel``.

    The newest of the channel's own record and the "any channel" record decides (on the
    same instant the channel's own record wins); no record at all means no consent. Only
    consent is judged here: deceased, archived or merged cards are the sender's business.
    """
    if kind not in ConsentKind.values or channel not in ConsentChannel.values:
        raise ValueError(f"unknown consent kind or channel: {kind!r}, {channel!r}")
    records = (
        ConsentRecord.objects.filter(
            patient=patient, kind=kind, channel__in={channel, ConsentChannel.ANY}
        )
        .order_by("channel", "-recorded_at", "-id")
        .distinct("channel")
    )
    return consent_allows(_latest_per_key(records), kind, channel)


def consent_allows(state: dict[tuple[str, str], ConsentRecord], kind: str, channel: str) -> bool:
    """``has_consent``'s rule applied to a state from ``consent_state(s)``."""
    specific = state.get((kind, channel))
    general = state.get((kind, ConsentChannel.ANY))
    if specific is None or general is None:
        record = specific or general
        return record.granted if record is not None else False
    if channel == ConsentChannel.ANY or specific.recorded_at >= general.recorded_at:
        return specific.granted
    return general.granted


def consent_states(
    *, patient_ids: Iterable[int], kinds: Iterable[str]
) -> dict[int, dict[tuple[str, str], ConsentRecord]]:
    """The current consents of many patients in one query (the message dispatcher's
    batch), per patient as ``consent_state`` gives them."""
    records = (
        ConsentRecord.objects.filter(patient_id__in=list(patient_ids), kind__in=list(kinds))
        .order_by("patient_id", "kind", "channel", "-recorded_at", "-id")
        .distinct("patient_id", "kind", "channel")
        .only("patient_id", "kind", "channel", "granted", "recorded_at")
    )
    states: dict[int, dict[tuple[str, str], ConsentRecord]] = {}
    for record in records:
        states.setdefault(record.patient_id, {})[(record.kind, record.channel)] = record
    return states
