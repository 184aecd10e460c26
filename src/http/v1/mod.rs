//! Version 1 of the API, mounted under `/api/v1`.

pub mod access;
pub mod auth;
pub mod catalog;
pub mod clients;
pub mod companies;
pub mod coupons;
pub mod customers;
pub mod enrollments;
pub mod events;
pub mod info;
pub mod interests;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod reports;
pub mod stats;
pub mod store;
pub mod storefront;
pub mod subscriptions;
pub mod timeline;
pub mod users;
pub mod webhooks;
pub mod workshops;

use utoipa_actix_web::service_config::ServiceConfig;

/// Every handler goes through `.service(...)` so utoipa-actix-web puts it in the spec.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(auth::sign_in)
        .service(auth::refresh)
        .service(auth::sign_out)
        .service(auth::list_sessions)
        .service(auth::end_session)
        .service(auth::me)
        .service(auth::change_password)
        .service(store::register_customer)
        .service(store::verify_customer_email)
        .service(store::store_sign_in)
        .service(store::store_refresh)
        .service(store::store_sign_out)
        .service(store::list_store_sessions)
        .service(store::end_store_session)
        .service(store::change_store_password)
        .service(store::request_password_reset)
        .service(store::confirm_password_reset)
        .service(store::get_store_profile)
        .service(store::update_store_profile)
        .service(store::list_my_orders)
        .service(store::get_my_order)
        .service(store::cancel_my_order)
        .service(storefront::list_store_products)
        .service(storefront::get_store_product)
        .service(storefront::list_store_categories)
        .service(storefront::list_store_workshops)
        .service(storefront::get_store_workshop)
        .service(users::create_user)
        .service(users::list_users)
        .service(users::get_user)
        .service(users::update_user)
        .service(access::create_api_key)
        .service(access::list_api_keys)
        .service(access::get_api_key)
        .service(access::revoke_api_key)
        .service(access::list_audit_log)
        .service(access::get_audit_entry)
        .service(companies::create_company)
        .service(companies::list_companies)
        .service(companies::get_company)
        .service(companies::update_company)
        .service(companies::delete_company)
        .service(interests::create_interest)
        .service(interests::list_interests)
        .service(interests::get_interest)
        .service(interests::update_interest)
        .service(interests::delete_interest)
        .service(clients::create_client)
        .service(clients::list_clients)
        .service(clients::get_client)
        .service(clients::update_client)
        .service(clients::delete_client)
        .service(clients::client_view)
        .service(customers::get_customer_account)
        .service(customers::update_customer_account)
        .service(timeline::client_timeline)
        .service(info::add_comment)
        .service(info::list_comments)
        .service(info::get_comment)
        .service(info::delete_comment)
        .service(info::get_preferences)
        .service(info::replace_preferences)
        .service(info::merge_preferences)
        .service(info::get_attributes)
        .service(info::replace_attributes)
        .service(info::merge_attributes)
        .service(stats::client_stats)
        .service(catalog::create_category)
        .service(catalog::list_categories)
        .service(catalog::get_category)
        .service(catalog::update_category)
        .service(catalog::delete_category)
        .service(catalog::create_product)
        .service(catalog::list_products)
        .service(catalog::get_product)
        .service(catalog::update_product)
        .service(catalog::delete_product)
        .service(catalog::record_movement)
        .service(catalog::list_movements)
        .service(coupons::create_coupon)
        .service(coupons::list_coupons)
        .service(coupons::get_coupon)
        .service(coupons::update_coupon)
        .service(coupons::delete_coupon)
        .service(orders::place_order)
        .service(orders::list_orders)
        .service(orders::get_order)
        .service(orders::order_view)
        .service(orders::change_order_status)
        .service(orders::cancel_order)
        .service(workshops::create_workshop)
        .service(workshops::list_workshops)
        .service(workshops::get_workshop)
        .service(workshops::update_workshop)
        .service(workshops::delete_workshop)
        .service(enrollments::enroll)
        .service(enrollments::list_enrollments)
        .service(enrollments::get_enrollment)
        .service(enrollments::cancel_enrollment)
        .service(enrollments::pay_enrollment)
        .service(enrollments::list_enrollment_payments)
        .service(payments::create_payment)
        .service(payments::list_payments)
        .service(payments::get_payment)
        .service(payments::refund_payment)
        .service(payments::list_refunds)
        .service(payments::get_refund)
        .service(subscriptions::list_plans)
        .service(subscriptions::subscribe)
        .service(subscriptions::client_subscription)
        .service(subscriptions::get_subscription)
        .service(events::list_events)
        .service(events::get_event)
        .service(webhooks::create_webhook_endpoint)
        .service(webhooks::list_webhook_endpoints)
        .service(webhooks::get_webhook_endpoint)
        .service(webhooks::update_webhook_endpoint)
        .service(webhooks::delete_webhook_endpoint)
        .service(webhooks::list_deliveries)
        .service(webhooks::get_delivery)
        .service(webhooks::retry_delivery)
        .service(webhooks::test_webhook_endpoint)
        .service(webhooks::rotate_webhook_secret)
        .service(notifications::list_notifications)
        .service(notifications::get_notification)
        .service(notifications::remind_debtors)
        .service(reports::kpi_report)
        .service(reports::client_report)
        .service(reports::workshop_report)
        .service(reports::product_report)
        .service(reports::sales_report);
}
