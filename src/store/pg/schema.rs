// @generated to match `migrations/` (the shape `diesel print-schema` produces).

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
    }
}

diesel::table! {
    interests (id) {
        id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(client_interests -> clients (client_id));
diesel::joinable!(client_interests -> interests (interest_id));
diesel::joinable!(clients -> companies (company_id));

diesel::allow_tables_to_appear_in_same_query!(client_interests, clients, companies, interests);
