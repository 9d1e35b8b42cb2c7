-- Coarser usage rollups (issue 20: analytics over 10 M logged requests in <= 500 ms). The per
-- minute rollup (request_rollups) keeps a row per key x route x method x status x minute, so a
-- 30-day question read millions of rows. These keep the same sums per hour and per day with
-- every dimension, and per hour with none (team totals, for the unfiltered time series). All
-- are written in the same transaction as the log rows they count (rampart-store usage.rs), and
-- a query reads whole days from the daily table, whole hours from the hourly ones and only the
-- partial hours at its edges from the per-minute table. hour and day are Unix seconds at the
-- start of the period (UTC). Filled here from the per-minute rollup, so history already logged
-- is kept.

CREATE TABLE request_rollups_hourly (
    team_id INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    endpoint TEXT NOT NULL,
    method TEXT NOT NULL,
    status INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    latency_us_sum INTEGER NOT NULL,
    response_bytes INTEGER NOT NULL,
    latency_b00 INTEGER NOT NULL DEFAULT 0,
    latency_b01 INTEGER NOT NULL DEFAULT 0,
    latency_b02 INTEGER NOT NULL DEFAULT 0,
    latency_b03 INTEGER NOT NULL DEFAULT 0,
    latency_b04 INTEGER NOT NULL DEFAULT 0,
    latency_b05 INTEGER NOT NULL DEFAULT 0,
    latency_b06 INTEGER NOT NULL DEFAULT 0,
    latency_b07 INTEGER NOT NULL DEFAULT 0,
    latency_b08 INTEGER NOT NULL DEFAULT 0,
    latency_b09 INTEGER NOT NULL DEFAULT 0,
    latency_b10 INTEGER NOT NULL DEFAULT 0,
    latency_b11 INTEGER NOT NULL DEFAULT 0,
    latency_b12 INTEGER NOT NULL DEFAULT 0,
    latency_b13 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, hour, key_id, user_id, endpoint, method, status)
);
CREATE INDEX request_rollups_hourly_hour ON request_rollups_hourly (hour);

CREATE TABLE request_rollups_daily (
    team_id INTEGER NOT NULL,
    day INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    endpoint TEXT NOT NULL,
    method TEXT NOT NULL,
    status INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    latency_us_sum INTEGER NOT NULL,
    response_bytes INTEGER NOT NULL,
    latency_b00 INTEGER NOT NULL DEFAULT 0,
    latency_b01 INTEGER NOT NULL DEFAULT 0,
    latency_b02 INTEGER NOT NULL DEFAULT 0,
    latency_b03 INTEGER NOT NULL DEFAULT 0,
    latency_b04 INTEGER NOT NULL DEFAULT 0,
    latency_b05 INTEGER NOT NULL DEFAULT 0,
    latency_b06 INTEGER NOT NULL DEFAULT 0,
    latency_b07 INTEGER NOT NULL DEFAULT 0,
    latency_b08 INTEGER NOT NULL DEFAULT 0,
    latency_b09 INTEGER NOT NULL DEFAULT 0,
    latency_b10 INTEGER NOT NULL DEFAULT 0,
    latency_b11 INTEGER NOT NULL DEFAULT 0,
    latency_b12 INTEGER NOT NULL DEFAULT 0,
    latency_b13 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, day, key_id, user_id, endpoint, method, status)
);
CREATE INDEX request_rollups_daily_day ON request_rollups_daily (day);

CREATE TABLE request_totals_hourly (
    team_id INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    client_errors INTEGER NOT NULL,
    server_errors INTEGER NOT NULL,
    latency_us_sum INTEGER NOT NULL,
    response_bytes INTEGER NOT NULL,
    latency_b00 INTEGER NOT NULL DEFAULT 0,
    latency_b01 INTEGER NOT NULL DEFAULT 0,
    latency_b02 INTEGER NOT NULL DEFAULT 0,
    latency_b03 INTEGER NOT NULL DEFAULT 0,
    latency_b04 INTEGER NOT NULL DEFAULT 0,
    latency_b05 INTEGER NOT NULL DEFAULT 0,
    latency_b06 INTEGER NOT NULL DEFAULT 0,
    latency_b07 INTEGER NOT NULL DEFAULT 0,
    latency_b08 INTEGER NOT NULL DEFAULT 0,
    latency_b09 INTEGER NOT NULL DEFAULT 0,
    latency_b10 INTEGER NOT NULL DEFAULT 0,
    latency_b11 INTEGER NOT NULL DEFAULT 0,
    latency_b12 INTEGER NOT NULL DEFAULT 0,
    latency_b13 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, hour)
);
CREATE INDEX request_totals_hourly_hour ON request_totals_hourly (hour);

INSERT INTO request_rollups_hourly (team_id, hour, key_id, user_id, endpoint, method, status,
    requests, latency_us_sum, response_bytes, latency_b00, latency_b01, latency_b02, latency_b03, latency_b04, latency_b05, latency_b06, latency_b07, latency_b08, latency_b09, latency_b10, latency_b11, latency_b12, latency_b13)
SELECT team_id, (minute / 3600) * 3600, key_id, user_id, endpoint, method, status,
    SUM(requests), SUM(latency_us_sum), SUM(response_bytes), SUM(latency_b00), SUM(latency_b01), SUM(latency_b02), SUM(latency_b03), SUM(latency_b04), SUM(latency_b05), SUM(latency_b06), SUM(latency_b07), SUM(latency_b08), SUM(latency_b09), SUM(latency_b10), SUM(latency_b11), SUM(latency_b12), SUM(latency_b13)
FROM request_rollups
GROUP BY team_id, (minute / 3600) * 3600, key_id, user_id, endpoint, method, status;

INSERT INTO request_rollups_daily (team_id, day, key_id, user_id, endpoint, method, status,
    requests, latency_us_sum, response_bytes, latency_b00, latency_b01, latency_b02, latency_b03, latency_b04, latency_b05, latency_b06, latency_b07, latency_b08, latency_b09, latency_b10, latency_b11, latency_b12, latency_b13)
SELECT team_id, (minute / 86400) * 86400, key_id, user_id, endpoint, method, status,
    SUM(requests), SUM(latency_us_sum), SUM(response_bytes), SUM(latency_b00), SUM(latency_b01), SUM(latency_b02), SUM(latency_b03), SUM(latency_b04), SUM(latency_b05), SUM(latency_b06), SUM(latency_b07), SUM(latency_b08), SUM(latency_b09), SUM(latency_b10), SUM(latency_b11), SUM(latency_b12), SUM(latency_b13)
FROM request_rollups
GROUP BY team_id, (minute / 86400) * 86400, key_id, user_id, endpoint, method, status;

INSERT INTO request_totals_hourly (team_id, hour, requests, client_errors, server_errors,
    latency_us_sum, response_bytes, latency_b00, latency_b01, latency_b02, latency_b03, latency_b04, latency_b05, latency_b06, latency_b07, latency_b08, latency_b09, latency_b10, latency_b11, latency_b12, latency_b13)
SELECT team_id, (minute / 3600) * 3600, SUM(requests),
    SUM(CASE WHEN status BETWEEN 400 AND 499 THEN requests ELSE 0 END),
    SUM(CASE WHEN status >= 500 THEN requests ELSE 0 END),
    SUM(latency_us_sum), SUM(response_bytes), SUM(latency_b00), SUM(latency_b01), SUM(latency_b02), SUM(latency_b03), SUM(latency_b04), SUM(latency_b05), SUM(latency_b06), SUM(latency_b07), SUM(latency_b08), SUM(latency_b09), SUM(latency_b10), SUM(latency_b11), SUM(latency_b12), SUM(latency_b13)
FROM request_rollups
GROUP BY team_id, (minute / 3600) * 3600;
