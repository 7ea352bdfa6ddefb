from rest_framework.routers import SimpleRouter

from providers.api.views import ApiKeyViewSet, LoadSummaryViewSet, ProviderViewSet

router = SimpleRouter()
router.register("providers", ProviderViewSet, basename="provider")
router.register("api-keys", ApiKeyViewSet, basename="api-key")
router.register("load-summary", LoadSummaryViewSet, basename="load-summary")
urlpatterns = router.urls
