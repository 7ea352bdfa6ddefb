from rest_framework.routers import SimpleRouter

from teams.api.views import GatewayKeyViewSet, TeamAliasViewSet, TeamViewSet, UsageViewSet

router = SimpleRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("team-aliases", TeamAliasViewSet, basename="team-alias")
router.register("gateway-keys", GatewayKeyViewSet, basename="gateway-key")
router.register("usage", UsageViewSet, basename="usage")
urlpatterns = router.urls
