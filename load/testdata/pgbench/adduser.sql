-- pgbench twin of `cfbench load --rate 0 --mix addUser=1`: the same INSERT, one per transaction.
-- pgbench -n -M prepared -c 8 -j 2 -T 10 -f load/testdata/pgbench/adduser.sql
\set c random(1, 9)
INSERT INTO users (id, city, name, address, credit_card) VALUES (gen_random_uuid(), (ARRAY['new york', 'boston', 'washington dc', 'seattle', 'san francisco', 'los angeles', 'amsterdam', 'paris', 'rome'])[:c], 'James Smith', '1234 Oak Street', '1234567890') ON CONFLICT (city, id) DO NOTHING;
