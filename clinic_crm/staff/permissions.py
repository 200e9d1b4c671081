from rest_framework.permissions import BasePermission


class IsVerifiedStaff(BasePermission):
    """API access needs a session whose second factor is verified and a staff role."""

    message = "Log in with your password and second factor first."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_verified() and user.role is not None)


def role_permission(*roles: str) -> type[BasePermission]:
    class HasRole(IsVerifiedStaff):
        def has_permission(self, request, view) -> bool:
            return super().has_permission(request, view) and request.user.has_role(*roles)

    HasRole.__name__ = "HasRole_" + "_".join(roles)
    return HasRole
