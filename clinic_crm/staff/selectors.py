from django.db.models import Exists, OuterRef, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import User


def staff_with_devices() -> QuerySet[User]:
    """Staff members with their profile, groups and whether a second factor is set up."""
    return (
        User.objects.select_related("profile__branch", "profile__specialty")
        .prefetch_related("groups")
        .annotate(
            has_second_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
        )
        .order_by("last_name", "first_name", "email")
    )
