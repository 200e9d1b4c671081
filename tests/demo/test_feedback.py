"""The large data set's answers: generated in SQL, they must look like the service's."""

import pytest

from demo.feedback import scale_responses_create
from demo.scale import scale_data_create
from feedback.models import ReasonTag, Response
from feedback.reasons import complaint_reasons
from journeys.models import Visit

pytestmark = pytest.mark.django_db


def test_scale_answers_carry_aspects_recovery_tasks_and_tagged_comments():
    scale_data_create(patients=400, seed=3, progress=lambda _m: None)
    counts = scale_responses_create(after_visit=0, progress=lambda _m: None)
    answered = Response.objects.count()
    completed = Visit.objects.filter(status="completed").count()
    assert counts["responses"] == answered
    assert 0.2 * completed < answered < 0.4 * completed
    assert counts["answers"] == 2 * answered

    negative = Response.objects.filter(negative=True)
    assert negative.exists()
    assert not negative.filter(recovery_task=None).exists()
    assert not Response.objects.filter(negative=False).exclude(recovery_task=None).exists()

    # About three in ten say why, in words that fit their score, tagged as the service
    # would tag them.
    with_comment = Response.objects.exclude(comment="").prefetch_related("reasons")
    assert counts["comments"] == len(with_comment)
    assert 0.2 * answered < len(with_comment) < 0.4 * answered
    tags = {tag.key: tag.pk for tag in ReasonTag.objects.filter(is_active=True)}
    tagged = 0
    for response in with_comment:
        keys = [key for key in complaint_reasons(response.comment) if key in tags]
        expected = {tags[key] for key in keys}
        assert {t.pk for t in response.reasons.all()} == expected
        assert response.tagged_reasons == keys
        tagged += bool(expected)
        if response.nps_score <= 6:
            assert "спасибо" not in response.comment.lower()
    assert tagged > 0
    assert not Response.objects.filter(comment="", reasons__isnull=False).exists()
    assert not Response.objects.filter(comment="").exclude(tagged_reasons=[]).exists()
