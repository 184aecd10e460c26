// @generated automatically by Diesel CLI.

diesel::table! {
    access_tokens (hash) {
        hash -> Bytea,
        session_id -> Uuid,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        name -> Text,
        role -> Text,
        scopes -> Array<Text>,
        secret_hash -> Bytea,
        last_four -> Text,
        expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        kind -> Text,
        allowed_origins -> Array<Text>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Uuid,
        occurred_at -> Timestamptz,
        key_id -> Nullable<Uuid>,
        operation_id -> Text,
        method -> Text,
        path -> Text,
        subject_id -> Nullable<Text>,
        status -> Nullable<Int2>,
        request_id -> Nullable<Text>,
        user_id -> Nullable<Uuid>,
        account_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    cart_lines (client_id, product_id) {
        client_id -> Uuid,
        product_id -> Uuid,
        quantity -> Int4,
        added_at -> Timestamptz,
    }
}

diesel::table! {
    carts (client_id) {
        client_id -> Uuid,
        coupon_code -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    categories (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    client_interests (client_id, interest_id) {
        client_id -> Uuid,
        interest_id -> Uuid,
    }
}

diesel::table! {
    clients (id) {
        id -> Uuid,
        name -> Text,
        email -> Text,
        phone -> Nullable<Text>,
        kind -> Text,
        company_id -> Nullable<Uuid>,
        plan -> Text,
        plan_status -> Text,
        active -> Bool,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        has_activity -> Bool,
        search_text -> Text,
        paid_until -> Nullable<Timestamptz>,
        number -> Int4,
    }
}

diesel::table! {
    companies (id) {
        id -> Uuid,
        legal_name -> Text,
        tax_id -> Text,
        address -> Nullable<Text>,
        phone -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    coupon_redemptions (order_id) {
        order_id -> Uuid,
        coupon_id -> Uuid,
        client_id -> Uuid,
        once_per_client -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    coupons (id) {
        id -> Uuid,
        code -> Text,
        description -> Nullable<Text>,
        kind -> Text,
        value -> Numeric,
        valid_from -> Nullable<Timestamptz>,
        valid_until -> Nullable<Timestamptz>,
        min_order_amount -> Numeric,
        max_redemptions -> Nullable<Int4>,
        redemptions -> Int4,
        once_per_client -> Bool,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    customer_accounts (id) {
        id -> Uuid,
        client_id -> Nullable<Uuid>,
        email -> Text,
        password_hash -> Text,
        email_verified_at -> Nullable<Timestamptz>,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    daily_client_orders (day) {
        day -> Date,
        client_numbers -> Array<Int4>,
        order_cents -> Array<Int8>,
    }
}

diesel::table! {
    daily_payment_methods (day, method) {
        day -> Date,
        method -> Text,
        payments -> Int4,
        amount -> Numeric,
    }
}

diesel::table! {
    daily_product_sales (day, product_id) {
        day -> Date,
        product_id -> Uuid,
        units -> Int4,
        revenue -> Numeric,
    }
}

diesel::table! {
    daily_sales (day) {
        day -> Date,
        orders -> Int4,
        items -> Int4,
        gross -> Numeric,
        refunds -> Numeric,
        cancelled_orders -> Int4,
        new_clients -> Int4,
        first_time_buyers -> Int4,
        rolled_up_at -> Timestamptz,
    }
}

diesel::table! {
    daily_segment_sales (day, client_kind, client_plan) {
        day -> Date,
        client_kind -> Text,
        client_plan -> Text,
        orders -> Int4,
        gross -> Numeric,
        refunds -> Numeric,
    }
}

diesel::table! {
    daily_workshop_sales (day, workshop_id) {
        day -> Date,
        workshop_id -> Uuid,
        enrollments -> Int4,
        received -> Numeric,
        refunded -> Numeric,
    }
}

diesel::table! {
    email_tokens (hash) {
        hash -> Bytea,
        account_id -> Uuid,
        purpose -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        new_email -> Nullable<Text>,
    }
}

diesel::table! {
    enrollments (id) {
        id -> Uuid,
        workshop_id -> Uuid,
        client_id -> Uuid,
        status -> Text,
        price -> Numeric,
        amount_paid -> Numeric,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        cancelled_at -> Nullable<Timestamptz>,
        amount_refunded -> Numeric,
    }
}

diesel::table! {
    events (id) {
        id -> Uuid,
        sequence -> Nullable<Int8>,
        #[sql_name = "type"]
        event_type -> Text,
        occurred_at -> Timestamptz,
        subject_type -> Text,
        subject_id -> Uuid,
        data -> Jsonb,
        client_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    idempotency_keys (key) {
        key -> Text,
        method -> Text,
        path -> Text,
        request_hash -> Text,
        state -> Text,
        locked_until -> Nullable<Timestamptz>,
        response_status -> Nullable<Int2>,
        response_headers -> Nullable<Jsonb>,
        response_body -> Nullable<Bytea>,
        recovery_path -> Nullable<Text>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    interests (id) {
        id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    job_reports (job) {
        job -> Text,
        finished_at -> Timestamptz,
        report -> Text,
    }
}

diesel::table! {
    notifications (id) {
        id -> Uuid,
        client_id -> Uuid,
        template -> Text,
        dedupe_key -> Text,
        event_id -> Nullable<Uuid>,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        status -> Text,
        transport -> Nullable<Text>,
        reason -> Nullable<Text>,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        lease_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    order_items (order_id, product_id) {
        order_id -> Uuid,
        product_id -> Uuid,
        product_name -> Text,
        product_slug -> Text,
        unit_price -> Numeric,
        quantity -> Int4,
        line_total -> Numeric,
    }
}

diesel::table! {
    order_status_history (id) {
        id -> Uuid,
        order_id -> Uuid,
        from_status -> Nullable<Text>,
        to_status -> Text,
        note -> Nullable<Text>,
        changed_at -> Timestamptz,
    }
}

diesel::table! {
    orders (id) {
        id -> Uuid,
        client_id -> Uuid,
        status -> Text,
        shipping_address -> Text,
        payment_method -> Text,
        coupon_id -> Nullable<Uuid>,
        coupon_code -> Nullable<Text>,
        subtotal -> Numeric,
        discount -> Numeric,
        total -> Numeric,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        amount_paid -> Numeric,
        client_kind -> Text,
        client_plan -> Text,
        amount_refunded -> Numeric,
    }
}

diesel::table! {
    payment_steps (payment_id, step) {
        payment_id -> Uuid,
        step -> Text,
        status -> Text,
        attempts -> Int4,
        error -> Nullable<Text>,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    payments (id) {
        id -> Uuid,
        subject_type -> Text,
        order_id -> Nullable<Uuid>,
        enrollment_id -> Nullable<Uuid>,
        subscription_id -> Nullable<Uuid>,
        client_id -> Uuid,
        amount -> Numeric,
        amount_refunded -> Numeric,
        method -> Text,
        token -> Nullable<Text>,
        description -> Nullable<Text>,
        status -> Text,
        failure_code -> Nullable<Text>,
        failure_message -> Nullable<Text>,
        gateway_reference -> Nullable<Text>,
        lease_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    plans (code) {
        code -> Text,
        name -> Text,
        description -> Nullable<Text>,
        monthly_price -> Numeric,
        position -> Int4,
    }
}

diesel::table! {
    products (id) {
        id -> Uuid,
        category_id -> Nullable<Uuid>,
        name -> Text,
        slug -> Text,
        description -> Nullable<Text>,
        price -> Numeric,
        stock -> Int4,
        reorder_point -> Int4,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        search_text -> Text,
        version -> Int4,
    }
}

diesel::table! {
    refunds (id) {
        id -> Uuid,
        payment_id -> Uuid,
        amount -> Numeric,
        reason -> Text,
        automatic -> Bool,
        status -> Text,
        failure_code -> Nullable<Text>,
        failure_message -> Nullable<Text>,
        gateway_reference -> Nullable<Text>,
        lease_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    relay_positions (relay) {
        relay -> Text,
        last_sequence -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    report_changes (id) {
        id -> Int8,
        day -> Date,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Nullable<Uuid>,
        device -> Nullable<Text>,
        created_at -> Timestamptz,
        last_used_at -> Timestamptz,
        refresh_hash -> Bytea,
        expires_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
        end_reason -> Nullable<Text>,
        account_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    sign_in_failures (subject) {
        subject -> Text,
        failures -> Int4,
        last_failure_at -> Timestamptz,
    }
}

diesel::table! {
    stock_movements (id) {
        id -> Uuid,
        product_id -> Uuid,
        kind -> Text,
        quantity -> Int4,
        delta -> Int4,
        resulting_stock -> Int4,
        reason -> Text,
        order_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> Uuid,
        client_id -> Uuid,
        plan -> Text,
        months -> Int4,
        monthly_price -> Numeric,
        amount -> Numeric,
        amount_paid -> Numeric,
        status -> Text,
        paid_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        cancelled_at -> Nullable<Timestamptz>,
        amount_refunded -> Numeric,
    }
}

diesel::table! {
    used_refresh_tokens (hash) {
        hash -> Bytea,
        session_id -> Uuid,
        used_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        name -> Text,
        email -> Text,
        role -> Text,
        password_hash -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Uuid,
        delivery_id -> Uuid,
        attempted_at -> Timestamptz,
        status_code -> Nullable<Int4>,
        duration_ms -> Int4,
        error -> Nullable<Text>,
        succeeded -> Bool,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        endpoint_id -> Uuid,
        event_id -> Nullable<Uuid>,
        sequence -> Nullable<Int8>,
        event_type -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        lease_until -> Nullable<Timestamptz>,
        last_status_code -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        url -> Text,
        description -> Nullable<Text>,
        event_types -> Array<Text>,
        secret -> Text,
        active -> Bool,
        disabled_reason -> Nullable<Text>,
        failing_since -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        owner_key_id -> Nullable<Uuid>,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamptz>,
        version -> Int4,
        owner_user_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    workshop_seats (workshop_id, seat_no) {
        workshop_id -> Uuid,
        seat_no -> Int4,
        enrollment_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    workshop_sold_out (workshop_id) {
        workshop_id -> Uuid,
        since -> Timestamptz,
    }
}

diesel::table! {
    workshops (id) {
        id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        category_id -> Uuid,
        starts_at -> Timestamptz,
        duration_minutes -> Int4,
        modality -> Text,
        location -> Nullable<Text>,
        link -> Nullable<Text>,
        price -> Numeric,
        capacity -> Int4,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        search_text -> Text,
        version -> Int4,
        cancellation_hours -> Int4,
    }
}

diesel::joinable!(access_tokens -> sessions (session_id));
diesel::joinable!(cart_lines -> carts (client_id));
diesel::joinable!(cart_lines -> products (product_id));
diesel::joinable!(carts -> clients (client_id));
diesel::joinable!(client_interests -> clients (client_id));
diesel::joinable!(client_interests -> interests (interest_id));
diesel::joinable!(clients -> companies (company_id));
diesel::joinable!(clients -> plans (plan));
diesel::joinable!(coupon_redemptions -> clients (client_id));
diesel::joinable!(coupon_redemptions -> coupons (coupon_id));
diesel::joinable!(coupon_redemptions -> orders (order_id));
diesel::joinable!(customer_accounts -> clients (client_id));
diesel::joinable!(daily_client_orders -> daily_sales (day));
diesel::joinable!(daily_payment_methods -> daily_sales (day));
diesel::joinable!(daily_product_sales -> daily_sales (day));
diesel::joinable!(daily_segment_sales -> daily_sales (day));
diesel::joinable!(daily_workshop_sales -> daily_sales (day));
diesel::joinable!(email_tokens -> customer_accounts (account_id));
diesel::joinable!(enrollments -> clients (client_id));
diesel::joinable!(enrollments -> workshops (workshop_id));
diesel::joinable!(notifications -> clients (client_id));
diesel::joinable!(order_items -> orders (order_id));
diesel::joinable!(order_items -> products (product_id));
diesel::joinable!(order_status_history -> orders (order_id));
diesel::joinable!(orders -> clients (client_id));
diesel::joinable!(orders -> coupons (coupon_id));
diesel::joinable!(payment_steps -> payments (payment_id));
diesel::joinable!(payments -> clients (client_id));
diesel::joinable!(payments -> enrollments (enrollment_id));
diesel::joinable!(payments -> orders (order_id));
diesel::joinable!(payments -> subscriptions (subscription_id));
diesel::joinable!(products -> categories (category_id));
diesel::joinable!(refunds -> payments (payment_id));
diesel::joinable!(sessions -> customer_accounts (account_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(stock_movements -> orders (order_id));
diesel::joinable!(stock_movements -> products (product_id));
diesel::joinable!(subscriptions -> clients (client_id));
diesel::joinable!(subscriptions -> plans (plan));
diesel::joinable!(used_refresh_tokens -> sessions (session_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(webhook_deliveries -> events (event_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_endpoints -> api_keys (owner_key_id));
diesel::joinable!(webhook_endpoints -> users (owner_user_id));
diesel::joinable!(workshop_seats -> enrollments (enrollment_id));
diesel::joinable!(workshop_seats -> workshops (workshop_id));
diesel::joinable!(workshop_sold_out -> workshops (workshop_id));
diesel::joinable!(workshops -> interests (category_id));

diesel::allow_tables_to_appear_in_same_query!(
    access_tokens,
    api_keys,
    audit_log,
    cart_lines,
    carts,
    categories,
    client_interests,
    clients,
    companies,
    coupon_redemptions,
    coupons,
    customer_accounts,
    daily_client_orders,
    daily_payment_methods,
    daily_product_sales,
    daily_sales,
    daily_segment_sales,
    daily_workshop_sales,
    email_tokens,
    enrollments,
    events,
    idempotency_keys,
    interests,
    job_reports,
    notifications,
    order_items,
    order_status_history,
    orders,
    payment_steps,
    payments,
    plans,
    products,
    refunds,
    relay_positions,
    report_changes,
    sessions,
    sign_in_failures,
    stock_movements,
    subscriptions,
    used_refresh_tokens,
    users,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    workshop_seats,
    workshop_sold_out,
    workshops,
);
