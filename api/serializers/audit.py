"""Audit entries as the API shows them (read-only: the log is append-only)."""

from rest_framework import serializers

from audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.IntegerField(source="actor_id", read_only=True, allow_null=True)

    class Meta:
        model = AuditEntry
        fields = [
            "seq",
            "at",
            "actor",
            "actor_label",
            "action",
            "target_type",
            "target_id",
            "data",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields
