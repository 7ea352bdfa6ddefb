from rest_framework.routers import SimpleRouter

from aliases.api.views import AliasViewSet

router = SimpleRouter()
router.register("aliases", AliasViewSet, basename="alias")
urlpatterns = router.urls
