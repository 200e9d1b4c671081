from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .roles import Role


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A member of the clinic's staff. Logs in with email, password and a second factor."""

    email = models.EmailField(_("email"), unique=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("admin site access"),
        default=False,
        help_text=_("Whether the user may open the technical admin site."),
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
        ordering = ["last_name", "first_name", "email"]
        permissions = [("reset_second_factor", "Can reset another user's second factor")]

    def __str__(self) -> str:
        return self.name_of(self.first_name, self.last_name, self.email)

    # The columns name_of() takes, for values_list().
    NAME_COLUMNS = ("first_name", "last_name", "email")

    @staticmethod
    def name_of(first_name: str, last_name: str, email: str) -> str:
        """How staff are named on pages: the full name, else the email. From plain
        columns, so a list of hundreds needs no model instances."""
        return f"{first_name} {last_name}".strip() or email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @property
    def roles(self) -> set[str]:
        """Names of the user's role groups (cached on the instance)."""
        if not hasattr(self, "_roles_cache"):
            # groups.all() so that a prefetch_related("groups") is used.
            self._roles_cache = {g.name for g in self.groups.all() if g.name in Role.values}
        return self._roles_cache

    @property
    def role(self) -> str | None:
        """The user's primary role; a user normally has exactly one."""
        for role in Role.values:
            if role in self.roles:
                return role
        return None

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class StaffProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    branch = models.ForeignKey(
        "catalogue.Branch",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff_profiles",
        verbose_name=_("branch"),
    )
    all_branches = models.BooleanField(
        _("works for every branch"),
        default=False,
        help_text=_(
            "For administrators: book and route patients of every branch (a call centre). "
            "Otherwise an administrator works within their own branch."
        ),
    )
    specialty = models.ForeignKey(
        "catalogue.Specialty",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="doctor_profiles",
        verbose_name=_("specialty"),
        help_text=_("For doctors."),
    )
    short_bio = models.TextField(
        _("short bio"),
        blank=True,
        max_length=600,
        help_text=_("A few sentences about the doctor, used in patient reminders."),
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return str(self.user)
