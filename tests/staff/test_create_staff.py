import pytest
from django.core.management import CommandError, call_command

from clinic_crm.staff.models import StaffProfile, User

pytestmark = pytest.mark.django_db


def test_create_staff_makes_user_with_role_and_profile(capsys):
    call_command(
        "create_staff",
        "--email",
        "New.Doctor@Clinic.test",
        "--role",
        "doctor",
        "--first-name",
        "Ivan",
        "--last-name",
        "Petrov",
    )
    user = User.objects.get(email="new.doctor@clinic.test")
    assert user.role == "doctor"
    assert StaffProfile.objects.filter(user=user).exists()
    out = capsys.readouterr().out
    assert "Password (shown once):" in out
    password = out.split("Password (shown once):")[1].split()[0]
    assert user.check_password(password)


def test_unknown_role_is_refused_and_nothing_written():
    with pytest.raises(CommandError, match="nurse.*administrator, doctor, curator, manager"):
        call_command("create_staff", "--email", "x@clinic.test", "--role", "nurse")
    assert not User.objects.exists()


def test_weak_password_is_refused_and_nothing_written():
    with pytest.raises(CommandError, match="short|common|коротк|распростран|слишком"):
        call_command(
            "create_staff", "--email", "x@clinic.test", "--role", "doctor", "--password", "123"
        )
    assert not User.objects.exists()


def test_duplicate_email_and_bad_email_are_refused():
    call_command("create_staff", "--email", "a@clinic.test", "--role", "manager")
    with pytest.raises(CommandError, match="A@clinic.test|a@clinic.test"):
        call_command("create_staff", "--email", "A@clinic.test", "--role", "doctor")
    with pytest.raises(CommandError, match="not-an-email"):
        call_command("create_staff", "--email", "not-an-email", "--role", "doctor")
    assert User.objects.count() == 1


def test_roles_are_groups_with_permissions():
    from django.contrib.auth.models import Group

    manager = Group.objects.get(name="manager")
    assert manager.permissions.filter(codename="view_auditevent").exists()
    assert (
        not Group.objects.get(name="doctor").permissions.filter(codename="view_auditevent").exists()
    )
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "administrator",
        "doctor",
        "curator",
        "manager",
    }
