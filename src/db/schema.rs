//! Diesel's view of the tables in `migrations/`. Written to match the SQL by
//! hand (ids and times are 64-bit on every backend).

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        username_key -> Text,
        password_hash -> Text,
        plan -> Text,
        created_at -> BigInt,
        email -> Nullable<Text>,
        email_key -> Nullable<Text>,
        email_verified -> Bool,
        role -> Text,
        disabled -> Bool,
        last_login_at -> Nullable<BigInt>,
        passkey_handle -> Nullable<Text>,
        premium_until -> Nullable<BigInt>,
        newsletter -> Bool,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        token_hash -> Text,
        user_id -> BigInt,
        stay_signed_in -> Bool,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        expires_at -> BigInt,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    posts (id) {
        id -> BigInt,
        title -> Text,
        body -> Text,
        published_at -> BigInt,
        slug -> Text,
        html -> Nullable<Text>,
        excerpt -> Text,
        excerpt_given -> Bool,
        excerpt_pending -> Bool,
        access -> Text,
        status -> Text,
        author_id -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        deleted_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    newsletters (post_id) {
        post_id -> BigInt,
        status -> Text,
        recipients -> BigInt,
        sent -> BigInt,
        created_at -> BigInt,
        queued_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    newsletter_recipients (post_id, user_id) {
        post_id -> BigInt,
        user_id -> BigInt,
        state -> Text,
        next_attempt_at -> BigInt,
        attempts -> Integer,
        token_hash -> Nullable<Text>,
    }
}

diesel::table! {
    unlocks (user_id, month, post_id) {
        user_id -> BigInt,
        month -> Integer,
        post_id -> BigInt,
        unlocked_at -> BigInt,
        slot -> Nullable<Integer>,
    }
}

diesel::table! {
    login_throttle (username_key) {
        username_key -> Text,
        attempts -> Integer,
        window_started_at -> BigInt,
        locked_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        user_id -> BigInt,
        at -> BigInt,
        kind -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    ip_limits (ip, kind, window_start) {
        ip -> Text,
        kind -> Text,
        window_start -> BigInt,
        hits -> Integer,
        expires_at -> BigInt,
    }
}

diesel::table! {
    paywall_notices (user_id, month) {
        user_id -> BigInt,
        month -> Integer,
    }
}

diesel::table! {
    billing_customers (user_id) {
        user_id -> BigInt,
        customer_id -> Text,
        created_at -> BigInt,
        forgotten -> Bool,
        generation -> Integer,
        imported -> Bool,
    }
}

diesel::table! {
    billing_subscriptions (id) {
        id -> Text,
        user_id -> BigInt,
        status -> Text,
        current_period_end -> Nullable<BigInt>,
        cancel_at_period_end -> Bool,
        last_event_created -> BigInt,
        updated_at -> BigInt,
        price_id -> Nullable<Text>,
        price_amount -> Nullable<BigInt>,
        price_currency -> Nullable<Text>,
        price_interval -> Nullable<Text>,
        price_interval_count -> Nullable<BigInt>,
        trial_end -> Nullable<BigInt>,
        cancel_at -> Nullable<BigInt>,
        duplicate -> Bool,
    }
}

diesel::table! {
    billing_checkouts (id) {
        id -> Text,
        user_id -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    billing_trials (user_id) {
        user_id -> BigInt,
        price -> Text,
        promotion_code -> Text,
        claimed_at -> BigInt,
        expires_at -> BigInt,
        session_id -> Nullable<Text>,
        generation -> BigInt,
    }
}

diesel::table! {
    billing_events (id) {
        id -> Text,
        kind -> Text,
        created -> BigInt,
        received_at -> BigInt,
    }
}

diesel::table! {
    email_tokens (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        purpose -> Text,
        email_key -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        recipient -> Text,
        recipient_key -> Text,
        subject -> Text,
        body -> Text,
        state -> Text,
        created_at -> BigInt,
        next_attempt_at -> BigInt,
        attempts -> Integer,
        failure -> Nullable<Text>,
    }
}

diesel::table! {
    forgot_requests (id) {
        id -> BigInt,
        email -> Text,
        email_key -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        requested_at -> BigInt,
        purpose -> Text,
        stay_signed_in -> Bool,
    }
}

diesel::table! {
    gifts (id) {
        id -> BigInt,
        giver_id -> BigInt,
        post_id -> BigInt,
        month -> Integer,
        token_hash -> Text,
        nonce -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        readers -> Integer,
    }
}

diesel::table! {
    gift_readers (gift_id, reader) {
        gift_id -> BigInt,
        reader -> Text,
        opened_at -> BigInt,
        last_day -> Nullable<Integer>,
        last_opened_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    insight_days (day) {
        day -> Integer,
        registrations -> Integer,
        conversions -> Integer,
        cancellations -> Integer,
        members_delta -> Integer,
        premium_delta -> Integer,
        readers -> Integer,
        paywall_hits -> Integer,
        gift_readers -> Integer,
        anonymous_readers -> Integer,
        registration_walls -> Integer,
    }
}

diesel::table! {
    anonymous_unlocks (reader, month, post_id) {
        reader -> Text,
        month -> Integer,
        post_id -> BigInt,
        slot -> Integer,
        unlocked_at -> BigInt,
    }
}

diesel::table! {
    anonymous_readers (reader, month) {
        reader -> Text,
        month -> Integer,
        read_day -> Nullable<Integer>,
        walled_day -> Nullable<Integer>,
    }
}

diesel::table! {
    anonymous_merges (reader, month) {
        reader -> Text,
        month -> Integer,
        user_id -> BigInt,
    }
}

diesel::table! {
    registration_walls (reader) {
        reader -> Text,
        post_id -> BigInt,
        walled_at -> BigInt,
    }
}

diesel::table! {
    post_tallies (post_id, day) {
        post_id -> BigInt,
        day -> Integer,
        first_readers -> Integer,
        paywall_hits -> Integer,
        gift_readers -> Integer,
        conversions -> Integer,
        registrations -> Integer,
    }
}

diesel::table! {
    post_readers (post_id, user_id, day) {
        post_id -> BigInt,
        user_id -> BigInt,
        day -> Integer,
        prev_day -> Nullable<Integer>,
    }
}

diesel::table! {
    day_readers (day, user_id) {
        day -> Integer,
        user_id -> BigInt,
    }
}

diesel::table! {
    paywall_hits (user_id, post_id, day) {
        user_id -> BigInt,
        post_id -> BigInt,
        day -> Integer,
        at -> BigInt,
    }
}

diesel::table! {
    plan_moves (day, user_id, direction) {
        day -> Integer,
        user_id -> BigInt,
        direction -> Text,
        moves -> Integer,
    }
}

diesel::table! {
    revenue_days (day, currency) {
        day -> Integer,
        currency -> Text,
        delta -> BigInt,
    }
}

diesel::table! {
    gift_credits (user_id) {
        user_id -> BigInt,
        gift_id -> BigInt,
        post_id -> BigInt,
        registered_at -> BigInt,
    }
}

diesel::table! {
    email_sign_ins (id) {
        id -> BigInt,
        token_hash -> Text,
        code_hash -> Text,
        email -> Text,
        email_key -> Text,
        stay_signed_in -> Bool,
        wrong_codes -> Integer,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    totp (user_id) {
        user_id -> BigInt,
        secret -> Text,
        enabled -> Bool,
        last_step -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        digest -> Text,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    pending_logins (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        stay_signed_in -> Bool,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    passkeys (id) {
        id -> BigInt,
        user_id -> BigInt,
        credential_id -> Text,
        public_key -> Text,
        counter -> Text,
        name -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    webauthn_challenges (challenge) {
        challenge -> Text,
        kind -> Text,
        user_id -> Nullable<BigInt>,
        state -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        url -> Text,
        events -> Text,
        description -> Text,
        enabled -> Bool,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_until -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    webhook_events (seq) {
        seq -> BigInt,
        id -> Text,
        #[sql_name = "type"]
        kind -> Text,
        data -> Text,
        at -> BigInt,
        fanned_out -> Bool,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        event_seq -> BigInt,
        webhook_id -> BigInt,
        status -> Text,
        attempts -> Integer,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        next_attempt_at -> Nullable<BigInt>,
        lease_until -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(passkeys -> users (user_id));
diesel::joinable!(totp -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::table! {
    identities (id) {
        id -> BigInt,
        user_id -> BigInt,
        provider -> Text,
        subject -> Text,
        email -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    provider_flows (state_hash) {
        state_hash -> Text,
        browser_hash -> Text,
        provider -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        return_to -> Text,
        user_id -> Nullable<BigInt>,
        stay_signed_in -> Bool,
        expires_at -> BigInt,
        session_id -> Nullable<Text>,
    }
}

diesel::joinable!(pending_logins -> users (user_id));
diesel::joinable!(identities -> users (user_id));
diesel::joinable!(events -> users (user_id));
diesel::joinable!(paywall_notices -> users (user_id));
diesel::table! {
    post_totals (id) {
        id -> Integer,
        published -> BigInt,
        changes -> BigInt,
    }
}

diesel::joinable!(billing_checkouts -> users (user_id));
diesel::joinable!(billing_customers -> users (user_id));
diesel::joinable!(billing_subscriptions -> users (user_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(unlocks -> users (user_id));
diesel::joinable!(unlocks -> posts (post_id));
diesel::joinable!(posts -> users (author_id));
diesel::joinable!(gifts -> posts (post_id));
diesel::joinable!(newsletters -> posts (post_id));
diesel::joinable!(newsletter_recipients -> newsletters (post_id));
diesel::joinable!(newsletter_recipients -> users (user_id));
diesel::joinable!(gift_readers -> gifts (gift_id));
diesel::joinable!(post_tallies -> posts (post_id));
diesel::joinable!(post_readers -> posts (post_id));
diesel::joinable!(paywall_hits -> posts (post_id));

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_deliveries -> webhook_events (event_seq));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    posts,
    post_totals,
    unlocks,
    login_throttle,
    events,
    ip_limits,
    paywall_notices,
    anonymous_unlocks,
    anonymous_readers,
    anonymous_merges,
    registration_walls,
    billing_checkouts,
    billing_customers,
    billing_subscriptions,
    billing_events,
    billing_trials,
    email_tokens,
    outbox,
    email_sign_ins,
    forgot_requests,
    gifts,
    gift_readers,
    gift_credits,
    newsletters,
    newsletter_recipients,
    insight_days,
    post_tallies,
    post_readers,
    day_readers,
    paywall_hits,
    plan_moves,
    revenue_days,
    totp,
    recovery_codes,
    pending_logins,
    passkeys,
    webauthn_challenges,
    identities,
    provider_flows,
    webhooks,
    webhook_events,
    webhook_deliveries,
);
