-- Commerce: catalog, stock history, coupons and orders.
-- Money is NUMERIC (exact, two decimals). Every invariant that protects stock and money is
-- a constraint here, so no code path — and no race between two of them — can break it.

CREATE TABLE categories (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    slug        TEXT NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 100),
    description TEXT CHECK (char_length(description) <= 1000),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT categories_slug_key UNIQUE (slug)
);
CREATE UNIQUE INDEX categories_name_key ON categories (lower(name));

CREATE TABLE products (
    id            UUID PRIMARY KEY,
    category_id   UUID REFERENCES categories (id) ON DELETE RESTRICT,
    name          TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    slug          TEXT NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 200),
    description   TEXT CHECK (char_length(description) <= 5000),
    price         NUMERIC(12, 2) NOT NULL CHECK (price > 0 AND price <= 1000000),
    stock         INTEGER NOT NULL CONSTRAINT products_stock_not_negative CHECK (stock >= 0)
                  CONSTRAINT products_stock_within_limit CHECK (stock <= 1000000000),
    reorder_point INTEGER NOT NULL DEFAULT 0 CHECK (reorder_point >= 0),
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT products_slug_key UNIQUE (slug)
);
CREATE INDEX products_category_id_idx ON products (category_id);
CREATE INDEX products_name_id_idx ON products (name, id);

-- Every change of a product's stock, with the stock it left: the history explains every unit.
CREATE TABLE stock_movements (
    id              UUID PRIMARY KEY,
    product_id      UUID NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('in', 'out', 'adjust')),
    quantity        INTEGER NOT NULL CHECK (quantity >= 0),
    delta           INTEGER NOT NULL,
    resulting_stock INTEGER NOT NULL CHECK (resulting_stock >= 0),
    reason          TEXT NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
    order_id        UUID,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX stock_movements_product_id_idx ON stock_movements (product_id, id);

CREATE TABLE coupons (
    id               UUID PRIMARY KEY,
    code             TEXT NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{3,40}$'),
    description      TEXT CHECK (char_length(description) <= 500),
    kind             TEXT NOT NULL CHECK (kind IN ('percentage', 'fixed_amount')),
    value            NUMERIC(12, 2) NOT NULL CHECK (value > 0 AND value <= 1000000),
    valid_from       TIMESTAMPTZ,
    valid_until      TIMESTAMPTZ,
    min_order_amount NUMERIC(12, 2) NOT NULL DEFAULT 0 CHECK (min_order_amount >= 0),
    max_redemptions  INTEGER CHECK (max_redemptions > 0),
    redemptions      INTEGER NOT NULL DEFAULT 0,
    once_per_client  BOOLEAN NOT NULL DEFAULT FALSE,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT coupons_percentage_at_most_100 CHECK (kind <> 'percentage' OR value <= 100),
    CONSTRAINT coupons_window_ordered CHECK (valid_from IS NULL OR valid_until IS NULL OR valid_until > valid_from),
    CONSTRAINT coupons_redemptions_within_max
        CHECK (redemptions >= 0 AND (max_redemptions IS NULL OR redemptions <= max_redemptions))
);
CREATE UNIQUE INDEX coupons_code_key ON coupons (lower(code));

CREATE TABLE orders (
    id               UUID PRIMARY KEY,
    client_id        UUID NOT NULL REFERENCES clients (id) ON DELETE RESTRICT,
    status           TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'confirmed', 'processing', 'shipped', 'delivered', 'cancelled')),
    shipping_address TEXT NOT NULL CHECK (char_length(shipping_address) BETWEEN 1 AND 500),
    payment_method   TEXT NOT NULL CHECK (payment_method IN ('card', 'bank_transfer', 'cash', 'paypal')),
    coupon_id        UUID REFERENCES coupons (id) ON DELETE RESTRICT,
    coupon_code      TEXT,
    subtotal         NUMERIC(14, 2) NOT NULL CHECK (subtotal > 0),
    discount         NUMERIC(14, 2) NOT NULL DEFAULT 0,
    total            NUMERIC(14, 2) NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT orders_discount_within_subtotal CHECK (discount >= 0 AND discount <= subtotal),
    CONSTRAINT orders_total_is_subtotal_less_discount CHECK (total = subtotal - discount)
);
CREATE INDEX orders_client_id_idx ON orders (client_id, created_at);
CREATE INDEX orders_created_at_id_idx ON orders (created_at, id);

ALTER TABLE stock_movements
    ADD CONSTRAINT stock_movements_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE SET NULL;

-- Line items keep a snapshot of the product (name, slug, unit price) as sold.
CREATE TABLE order_items (
    order_id     UUID NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id   UUID NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    product_name TEXT NOT NULL,
    product_slug TEXT NOT NULL,
    unit_price   NUMERIC(12, 2) NOT NULL CHECK (unit_price > 0),
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    line_total   NUMERIC(14, 2) NOT NULL,
    PRIMARY KEY (order_id, product_id),
    CONSTRAINT order_items_line_total_exact CHECK (line_total = unit_price * quantity)
);
CREATE INDEX order_items_product_id_idx ON order_items (product_id);

CREATE TABLE order_status_history (
    id          UUID PRIMARY KEY,
    order_id    UUID NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    note        TEXT CHECK (char_length(note) <= 500),
    changed_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX order_status_history_order_id_idx ON order_status_history (order_id, id);

-- One row per order that redeemed a coupon; removed again when the order is cancelled.
-- The partial unique index makes "once per client" a database rule.
CREATE TABLE coupon_redemptions (
    order_id        UUID PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    coupon_id       UUID NOT NULL REFERENCES coupons (id) ON DELETE RESTRICT,
    client_id       UUID NOT NULL REFERENCES clients (id) ON DELETE RESTRICT,
    once_per_client BOOLEAN NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX coupon_redemptions_once_per_client
    ON coupon_redemptions (coupon_id, client_id) WHERE once_per_client;
