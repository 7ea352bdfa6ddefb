from rest_framework.routers import SimpleRouter

from pricing.api.views import PriceOverrideViewSet

router = SimpleRouter()
router.register("prices", PriceOverrideViewSet, basename="price")
urlpatterns = router.urls
