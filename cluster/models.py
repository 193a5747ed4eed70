from django.db import models


class Lease(models.Model):
    """A named lease: held by `holder` until `expires`. Taken and renewed only by
    compare-and-swap (cluster.leases), so two machines never both hold it."""

    name = models.CharField(max_length=200, primary_key=True)
    holder = models.CharField(max_length=200)
    expires = models.DateTimeField()

    def __str__(self):
        return f"{self.name} held by {self.holder} until {self.expires:%H:%M:%S}"
