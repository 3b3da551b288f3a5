-- S7: POST /password/forgot for one address ($EMAIL): run once for an
-- address an account holds and once for one nobody holds. The answers are
-- the same; their times should be too (no account enumeration by timing).
-- With PACED set, each connection waits 10 ms between requests (like S5's
-- probe): the time a client sees for its answer, not how many fit.
local body = '{"email":"' .. (os.getenv("EMAIL") or "nobody@example.com") .. '"}'
request = function()
  return wrk.format("POST", "/password/forgot", { ["Content-Type"] = "application/json" }, body)
end

if os.getenv("PACED") then
  delay = function()
    return 10
  end
end
