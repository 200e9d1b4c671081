"""Times patient search on the current database: python manage.py shell < this file."""

import statistics
import time

from patients import selectors
from patients.models import Patient

sample = Patient.objects.order_by("pk")[500_000]
print("patients:", Patient.objects.count(), "sample:", sample.full_name, sample.phone)
queries = {
    "full name 3 words": f"{sample.last_name} {sample.first_name} {sample.middle_name}",
    "fragments 'петр ива'": "петр ива",
    "rare fragment 2 words": f"{sample.last_name[:5]} {sample.first_name[:4]}",
    "common fragment 'ов'": "ов",
    "single common word 'иван'": "иван",
    "phone last 7 digits": sample.phone[-7:],
    "phone 4 digits": sample.phone[-4:],
    "phone 8-prefixed": "8" + sample.phone[2:8],
    "card number": f"#{sample.pk}",
    "no query": "",
    "no match": "зззыыы",
}


def timed(fn, repeat=7):
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs), result


for label, q in queries.items():
    ms, rows = timed(lambda q=q: list(selectors.patient_search(query=q)[:51]))
    print(f"{label:28s} {ms:8.1f} ms  rows={len(rows)}")

ms, rows = timed(lambda: list(selectors.patient_search(query="иван")[5000:5051]))
print(f"{'page 100 of иван':28s} {ms:8.1f} ms  rows={len(rows)}")
ms, rows = timed(lambda: list(selectors.likely_duplicates(patient=sample)))
print(f"{'likely duplicates':28s} {ms:8.1f} ms  rows={len(rows)}")
ms, rows = timed(lambda: list(selectors.patient_search(query="петр ива", branch_id=1)[:51]))
print(f"{'branch-scoped petr iva':28s} {ms:8.1f} ms  rows={len(rows)}")
print()
print(selectors.patient_search(query="петр ива")[:51].explain(analyze=True))
print(selectors.patient_search(query=sample.phone[-7:])[:51].explain(analyze=True))
