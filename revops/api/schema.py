"""The OpenAPI schema and its docs pages (public: no tenant data), and the Api-Key security scheme."""
from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents ``revops.authentication.ApiKeyAuthentication`` as the ``ApiKeyAuth`` scheme."""

    target_class = "revops.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "An organization API key, created by an admin (`POST /api/v1/api-keys/`) and shown once. "
                "Send it as `Authorization: Api-Key <prefix>.<secret>` (in Swagger UI's Authorize box, "
                "type `Api-Key ` before the key). The key acts in its organization with the integrator "
                "role; a revoked or wrong key answers 401."
            ),
        }


class PublicSchemaView(SpectacularAPIView):
    """The OpenAPI document: describes endpoints, never returns organization data."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []


class PublicSwaggerView(SpectacularSwaggerView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []


class PublicRedocView(SpectacularRedocView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
