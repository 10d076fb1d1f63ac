DROP TABLE stripe_events;
DROP TABLE payment_items;
DROP TABLE payments;
DROP TABLE order_items;
DROP TABLE orders;
