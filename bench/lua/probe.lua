-- S5: a light check_session probe while the S4 storm runs. Each connection
-- waits 10 ms between requests (4 connections: about 400 requests a second),
-- so it measures the latency a user sees, not how many requests fit.
request = function()
  return wrk.format("GET", "/check_session", { ["Cookie"] = os.getenv("COOKIE") })
end

delay = function()
  return 10
end
