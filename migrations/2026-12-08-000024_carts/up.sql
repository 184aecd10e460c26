-- One server-side cart per customer's client, shared by their phone and browser: lines of
-- products, an optional coupon code, and a version for If-Match. Prices and stock are read at
-- checkout, never stored here.
CREATE TABLE carts (
    client_id UUID PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    coupon_code TEXT CONSTRAINT carts_coupon_code_check CHECK (char_length(coupon_code) BETWEEN 1 AND 64),
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE cart_lines (
    client_id UUID NOT NULL REFERENCES carts (client_id) ON DELETE CASCADE,
    -- A product the staff delete leaves every cart with it.
    product_id UUID NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    quantity INTEGER NOT NULL CONSTRAINT cart_lines_quantity_check CHECK (quantity BETWEEN 1 AND 1000),
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (client_id, product_id)
);
CREATE INDEX cart_lines_product_id ON cart_lines (product_id);
