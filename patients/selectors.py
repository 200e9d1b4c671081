from django.db.models import Q, QuerySet

from .models import Patient


def patient_search(*, query: str = "") -> QuerySet[Patient]:
    patients = Patient.objects.select_related("home_branch").order_by("last_name", "first_name")
    query = query.strip()
    if query:
        digits = "".join(ch for ch in query if ch.isdigit())
        condition = Q(last_name__icontains=query) | Q(first_name__icontains=query)
        if len(digits) >= 4:
            condition |= Q(phone__contains=digits)
        patients = patients.filter(condition)
    return patients


def patient_detail(*, patient_id: int) -> Patient:
    return Patient.objects.select_related("home_branch").get(pk=patient_id)
