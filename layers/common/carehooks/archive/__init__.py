"""The raw inbound archive (issue 18): every verified inbound event as it was queued, in S3 (a local
directory in the local stack), keyed by channel, date and contact; listing and replay; and erasure and
export of one person, which span the table and the archive. See ``docs/archive.md`` and ``docs/privacy.md``.
"""
