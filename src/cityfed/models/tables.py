"""The database tables of a node (SQLAlchemy 2 declarative), shared by SQLite and PostgreSQL.

Queue tables (inbox_items, deliveries) carry their own state, attempt count, next attempt time and
lease, so that any number of workers can lease rows without holding a transaction across HTTP.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cityfed.models.states import (
    DeliveryState,
    FollowState,
    InboxState,
    PeerPolicy,
    check_sql,
    object_state_check_sql,
)
from cityfed.models.types import UTCDateTime, utcnow

URL = String(2048)

# Stable constraint names keep Alembic migrations identical on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), bytes: LargeBinary()}


class Actor(Base):
    """A local city (or unit), the instance actor, or a remote actor we have seen."""

    __tablename__ = "actors"

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str] = mapped_column(URL, unique=True)
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    type: Mapped[str] = mapped_column(String(64))
    handle: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(URL)
    icon_url: Mapped[str | None] = mapped_column(URL)
    # The header picture (``image`` of the actor document), as ``icon_url`` is the avatar.
    header_url: Mapped[str | None] = mapped_column(URL)
    # A local city's bio as staff wrote it (Markdown); ``summary`` holds it rendered and sanitised.
    summary_source: Mapped[str | None] = mapped_column(Text)
    inbox: Mapped[str | None] = mapped_column(URL)
    shared_inbox: Mapped[str | None] = mapped_column(URL)
    outbox: Mapped[str | None] = mapped_column(URL)
    followers_url: Mapped[str | None] = mapped_column(URL)
    following_url: Mapped[str | None] = mapped_column(URL)
    manually_approves_followers: Mapped[bool] = mapped_column(Boolean, default=False)
    website: Mapped[str | None] = mapped_column(URL)
    contact: Mapped[str | None] = mapped_column(Text)
    official_identifier: Mapped[str | None] = mapped_column(String(255))
    # Hold comments from peers that are not trusted until a moderator approves them.
    moderate_comments: Mapped[bool] = mapped_column(Boolean, default=False)
    document: Mapped[dict[str, Any] | None]
    fetched_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_actors_handle_domain", "handle", "domain"),)


class Key(Base):
    """A public key (and, for our own actors, its private half); kept until it expires."""

    __tablename__ = "keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[str] = mapped_column(URL, unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # rsa | ed25519
    public_pem: Mapped[str] = mapped_column(Text)
    private_pem: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class Object(Base):
    """An ActivityStreams object: ours (projects, challenges, comments) or a remote one's copy."""

    __tablename__ = "objects"

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str] = mapped_column(URL, unique=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    document: Mapped[dict[str, Any]]
    in_reply_to: Mapped[str | None] = mapped_column(URL, index=True)
    context: Mapped[str | None] = mapped_column(URL, index=True)
    published: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    # What an Adoption or SolutionOffer is about (the project or challenge id).
    target: Mapped[str | None] = mapped_column(URL, index=True)
    # Per type (models.states.OBJECT_STATES): a Note's CommentState, an Adoption's or a
    # SolutionOffer's AnswerState; None for the other types.
    state: Mapped[str | None] = mapped_column(String(16))
    # The activity that brought the object (an Offer's id, for its Accept/Reject).
    activity_ap_id: Mapped[str | None] = mapped_column(URL, index=True)

    __table_args__ = (
        Index("ix_objects_listing", "local", "type", "published"),
        CheckConstraint(object_state_check_sql(), name="state"),
    )


class Activity(Base):
    """An activity we sent or received, with its body exactly as serialised on the wire."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str] = mapped_column(URL, unique=True)
    type: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    object_ap_id: Mapped[str | None] = mapped_column(URL, index=True)
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[bytes]
    # Set when the activity must be signed with a particular key (the Update announcing a key
    # rotation is signed with the old key); otherwise the sender's current key signs.
    signing_key_id: Mapped[str | None] = mapped_column(URL)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Follow(Base):
    """follower → followee, with the Follow activity's id so Accept/Reject/Undo can find it."""

    __tablename__ = "follows"

    id: Mapped[int] = mapped_column(primary_key=True)
    follower_id: Mapped[int] = mapped_column(
        ForeignKey("actors.id", ondelete="CASCADE"), index=True
    )
    followee_id: Mapped[int] = mapped_column(
        ForeignKey("actors.id", ondelete="CASCADE"), index=True
    )
    activity_ap_id: Mapped[str] = mapped_column(URL, unique=True)
    state: Mapped[str] = mapped_column(String(16))  # FollowState
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # When the followee's earlier objects were fetched from its outbox (issue 18 backfill); None
    # until then, so the backfill worker finds the accepted follows it still owes.
    backfilled_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        UniqueConstraint("follower_id", "followee_id"),
        CheckConstraint(check_sql("state", FollowState), name="state"),
    )


class InboxItem(Base):
    """A received, verified activity waiting for (or done with) dispatch. Written before the 202."""

    __tablename__ = "inbox_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_ap_id: Mapped[str] = mapped_column(URL, unique=True)
    actor_ap_id: Mapped[str] = mapped_column(URL)
    signer_key_id: Mapped[str | None] = mapped_column(URL)
    recipient: Mapped[str | None] = mapped_column(
        String(255)
    )  # local handle, None for shared inbox
    body: Mapped[bytes]
    verified_by: Mapped[str] = mapped_column(String(32), default="http-signature")
    state: Mapped[str] = mapped_column(String(16), default=InboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_inbox_items_due", "state", "next_attempt_at"),
        # The purge (federation/housekeeping.py) finds processed items by when they finished.
        Index("ix_inbox_items_finished_at", "finished_at"),
        CheckConstraint(check_sql("state", InboxState), name="state"),
    )


class Delivery(Base):
    """One outgoing activity to one inbox: what the delivery worker leases, sends and retries."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    inbox: Mapped[str] = mapped_column(URL)
    domain: Mapped[str] = mapped_column(String(255), index=True)
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("activity_id", "inbox"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        Index("ix_deliveries_finished_at", "finished_at"),
        CheckConstraint(check_sql("state", DeliveryState), name="state"),
    )


class Peer(Base):
    """What we know about and decided for one remote domain (host[:port])."""

    __tablename__ = "peers"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    policy: Mapped[str | None] = mapped_column(String(16))  # PeerPolicy, or None: no decision
    note: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime | None]
    software: Mapped[str | None] = mapped_column(String(255))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    circuit_open_until: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    # The first failure since the domain last answered (None: it answered last time).
    failing_since: Mapped[datetime | None]
    # Set after days of failures: deliveries to the domain are held (not leased, not charged)
    # until it answers again, to a probe or by sending us something (as Mastodon does).
    unavailable_since: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(check_sql("policy", PeerPolicy, nullable=True), name="policy"),
    )


class GoneInbox(Base):
    """A personal inbox that answered 410: when, first and last, with no success since.

    A follow is removed only when 410s span ``delivery_gone_days`` (§3 Outbound): one answer,
    which a misconfigured proxy can give, never removes anything.
    """

    __tablename__ = "gone_inboxes"

    inbox: Mapped[str] = mapped_column(URL, primary_key=True)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer, default=1)


class ApiToken(Base):
    """A bearer token for the REST API. Only a SHA-256 hash of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(16))  # admin | editor
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who changed which policy, when and why."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    who: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(2048))
    detail: Mapped[dict[str, Any] | None]


class Report(Base):
    """A Flag: received from a peer (the admin queue) or sent by us (anonymously)."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_ap_id: Mapped[str] = mapped_column(URL, unique=True)
    direction: Mapped[str] = mapped_column(String(16))  # received | sent
    origin_domain: Mapped[str] = mapped_column(String(255))
    target_actor: Mapped[str | None] = mapped_column(URL, index=True)
    objects: Mapped[dict[str, Any] | None]  # {"ids": [...]}
    content: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(255))
    resolution_note: Mapped[str | None] = mapped_column(Text)


class NodeSetting(Base):
    """Runtime settings an admin can change without editing the config file (federation mode)."""

    __tablename__ = "node_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]]


class StaffUser(Base):
    """A person who signs in to the staff pages (/staff/). Only an argon2 hash of the password
    is stored; ``must_change_password`` marks a one-time password set by an admin or the CLI."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | editor
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class StaffSession(Base):
    """A signed-in browser: the cookie holds a random token, this row only its SHA-256 hash.
    ``csrf_secret`` is the per-session value every staff form must send back."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Reaction(Base):
    """A remote actor's Like or Announce (boost) of an object we keep: one per actor, object
    and kind, found again by the activity's id when it is undone."""

    __tablename__ = "reactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # ReactionKind
    activity_ap_id: Mapped[str] = mapped_column(URL, unique=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("objects.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("object_id", "kind", "actor_id", name="uq_reactions_object_kind_actor"),
    )


class Media(Base):
    """An uploaded image or document of a local city (issue 16). Its bytes are in ``media_files``
    (one row per rendition), and it is shown on the objects ``media_links`` ties it to."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # models.media.MediaKind
    media_type: Mapped[str] = mapped_column(String(255))  # of the rendition federation gets
    size: Mapped[int] = mapped_column(BigInteger)  # bytes of all its files: what the quota counts
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # of the upload as received
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    blurhash: Mapped[str | None] = mapped_column(String(64))
    focal_x: Mapped[float | None] = mapped_column(Float)
    focal_y: Mapped[float | None] = mapped_column(Float)
    alt_text: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(String(255))  # documents: the offered name
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaFile(Base):
    """One stored rendition of a media item, under its content address in the storage backend.
    Several rows may share a key (the same bytes uploaded twice): a file goes when none is left."""

    __tablename__ = "media_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), index=True)
    variant: Mapped[str] = mapped_column(String(16))  # original | large | medium | small | file
    media_type: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("media_id", "variant", "media_type"),)


class MediaLink(Base):
    """Media shown on an object (a project's cover and gallery, a comment's documents), in order."""

    __tablename__ = "media_links"

    media_id: Mapped[int] = mapped_column(
        ForeignKey("media.id", ondelete="CASCADE"), primary_key=True
    )
    object_id: Mapped[int] = mapped_column(
        ForeignKey("objects.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))  # models.media.MediaRole
    position: Mapped[int] = mapped_column(Integer, default=0)


class RemoteMedia(Base):
    """A partner's image, fetched once and kept in a size-bounded cache so our pages never
    hotlink it; ``last_used_at`` orders evictions (least recently used first)."""

    __tablename__ = "remote_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(URL, unique=True)
    domain: Mapped[str] = mapped_column(String(255), index=True)
    state: Mapped[str] = mapped_column(String(16))  # models.media.RemoteState
    storage_key: Mapped[str | None] = mapped_column(String(64), index=True)
    media_type: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    blurhash: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class OAuthApp(Base):
    """A client app registered through ``POST /api/v1/apps`` (Mastodon's OAuth 2 apps). Only a
    SHA-256 hash of the client secret is kept, like every other secret of ours."""

    __tablename__ = "oauth_apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(URL)
    redirect_uris: Mapped[str] = mapped_column(Text)  # one per line, as Mastodon takes them
    scopes: Mapped[str] = mapped_column(String(1024))  # space-separated
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthCode(Base):
    """An authorization code a staff member granted on the consent page: single use, short
    lived, bound to its app, redirect URI and (with PKCE) the client's code challenge."""

    __tablename__ = "oauth_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    redirect_uri: Mapped[str] = mapped_column(URL)
    scopes: Mapped[str] = mapped_column(String(1024))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class OAuthToken(Base):
    """An access token of an app: for a staff member (authorization code) or for the app itself
    (client credentials, ``user_id`` None). Stored as a hash; revoked, never deleted, so the
    staff pages can show what was authorised."""

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    # The code it was issued for: a code used twice revokes what it gave (RFC 6749 §4.1.2).
    code_id: Mapped[int | None] = mapped_column(
        ForeignKey("oauth_codes.id", ondelete="SET NULL"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Marker(Base):
    """Where a staff member stopped reading a timeline in their app (Mastodon's markers)."""

    __tablename__ = "markers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    timeline: Mapped[str] = mapped_column(String(32))  # home | notifications
    last_read_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "timeline"),)
class ProfileField(Base):
    """One of a local city's profile fields (a ``PropertyValue`` attachment of its actor), in
    order. ``value`` is the text staff entered; a link in it is verified the way Mastodon verifies
    (a ``rel="me"`` link back on the linked page), and ``verified_at`` says when that last
    succeeded. Verification is ours alone: it is shown on our pages and never federated."""

    __tablename__ = "profile_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text)
    verified_at: Mapped[datetime | None]
    checked_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("actor_id", "position"),)


class ProfileMedia(Base):
    """A local city's avatar or header: which upload (``media``) it is. A table of its own rather
    than columns on ``actors``, so media and actors do not reference each other in a cycle."""

    __tablename__ = "profile_media"

    actor_id: Mapped[int] = mapped_column(
        ForeignKey("actors.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)  # models.profile.ImageRole
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), index=True)


class Notification(Base):
    """Something a staff member should notice (issue 18.5), one row per user so that each has
    their own read state; written in the same transaction as the change that caused it."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    object_id: Mapped[int | None] = mapped_column(ForeignKey("objects.id", ondelete="SET NULL"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(Text)  # one line, plain text, in the mail and the list
    link: Mapped[str | None] = mapped_column(URL)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    digested_at: Mapped[datetime | None]  # put in a daily digest mail (or not wanted in one)

    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)


class NotificationPreference(Base):
    """A staff member's choice of events and of e-mail: ``off``, ``immediate`` or ``digest``."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    muted: Mapped[str] = mapped_column(Text, default="")  # comma-separated event kinds
    email: Mapped[str] = mapped_column(String(16), default="immediate")
    last_digest_at: Mapped[datetime | None]


class Mail(Base):
    """An e-mail waiting to go out over SMTP (federation/mailer.py), retried with backoff."""

    __tablename__ = "mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_mails_due", "state", "next_attempt_at"),)
