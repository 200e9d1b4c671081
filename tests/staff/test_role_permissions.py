"""The permissions each role has, as the apps register them (each app names its own in
``AppConfig.ready``). The list is the one the staff app held before registration: a role
that gains or loses a permission changes this test on purpose."""

from django.contrib.auth.models import Group, Permission

from clinic_crm.staff.roles import Role, role_permissions, roles_sync

EXPECTED = {
    Role.ADMINISTRATOR: [
        "catalogue.view_branch",
        "catalogue.view_specialty",
        "patients.add_consentrecord",
        "patients.add_familygroup",
        "patients.add_patient",
        "patients.change_familygroup",
        "patients.change_patient",
        "patients.merge_patient",
        "patients.view_consentrecord",
        "patients.view_familygroup",
        "patients.view_patient",
    ],
    Role.DOCTOR: [
        "catalogue.view_branch",
        "catalogue.view_specialty",
        "patients.view_consentrecord",
        "patients.view_familygroup",
        "patients.view_patient",
    ],
    Role.CURATOR: [
        "catalogue.view_branch",
        "catalogue.view_specialty",
        "patients.add_consentrecord",
        "patients.add_familygroup",
        "patients.add_patient",
        "patients.change_familygroup",
        "patients.change_patient",
        "patients.view_consentrecord",
        "patients.view_familygroup",
        "patients.view_patient",
    ],
    Role.MANAGER: [
        "audit.view_auditevent",
        "catalogue.add_branch",
        "catalogue.add_service",
        "catalogue.add_specialty",
        "catalogue.change_branch",
        "catalogue.change_service",
        "catalogue.change_specialty",
        "catalogue.view_branch",
        "catalogue.view_service",
        "catalogue.view_specialty",
        "feedback.add_csiattribute",
        "feedback.add_feedbacksettings",
        "feedback.add_improvement",
        "feedback.add_reasontag",
        "feedback.add_survey",
        "feedback.change_csiattribute",
        "feedback.change_feedbacksettings",
        "feedback.change_improvement",
        "feedback.change_reasontag",
        "feedback.change_survey",
        "feedback.delete_csiattribute",
        "feedback.delete_feedbacksettings",
        "feedback.delete_improvement",
        "feedback.delete_reasontag",
        "feedback.delete_survey",
        "feedback.view_csiattribute",
        "feedback.view_feedbacksettings",
        "feedback.view_improvement",
        "feedback.view_reasontag",
        "feedback.view_survey",
        "journeys.add_checklistitem",
        "journeys.add_checklisttemplate",
        "journeys.add_scheduleexception",
        "journeys.add_screeningform",
        "journeys.add_screeningquestion",
        "journeys.add_workinghours",
        "journeys.change_checklistitem",
        "journeys.change_checklisttemplate",
        "journeys.change_scheduleexception",
        "journeys.change_screeningform",
        "journeys.change_screeningquestion",
        "journeys.change_workinghours",
        "journeys.delete_checklistitem",
        "journeys.delete_checklisttemplate",
        "journeys.delete_scheduleexception",
        "journeys.delete_screeningform",
        "journeys.delete_screeningquestion",
        "journeys.delete_workinghours",
        "journeys.view_checklistitem",
        "journeys.view_checklisttemplate",
        "journeys.view_scheduleexception",
        "journeys.view_screeningform",
        "journeys.view_screeningquestion",
        "journeys.view_workinghours",
        "messaging.add_holiday",
        "messaging.add_messagetemplate",
        "messaging.change_holiday",
        "messaging.change_messagetemplate",
        "messaging.change_messagingsettings",
        "messaging.delete_holiday",
        "messaging.delete_messagetemplate",
        "messaging.view_holiday",
        "messaging.view_messagetemplate",
        "messaging.view_messagingsettings",
        "metrics.change_metricssettings",
        "metrics.view_metricssettings",
        "patients.merge_patient",
        "patients.view_consentrecord",
        "patients.view_familygroup",
        "patients.view_patient",
        "staff.reset_second_factor",
        "staff.view_user",
    ],
}


def test_the_apps_grant_each_role_exactly_its_permissions():
    assert role_permissions() == {role: sorted(names) for role, names in EXPECTED.items()}


def test_every_registered_permission_exists_and_reaches_its_group(db):
    roles_sync()
    for role, names in role_permissions().items():
        granted = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=role).permissions.select_related("content_type")
        }
        assert granted == set(names), role
    assert (
        Permission.objects.filter(
            content_type__app_label="journeys", codename="view_branch"
        ).count()
        == 0
    )
