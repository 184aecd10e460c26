DROP TABLE IF EXISTS order_status_history, coupon_redemptions, order_items, stock_movements, orders, coupons,
    products, categories;
