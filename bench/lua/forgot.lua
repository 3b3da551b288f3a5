-- S7: POST /password/forgot for one address ($EMAIL): run once for an
-- address an account holds and once for one nobody holds. The answers are
-- the same; their times should be too (no account enumeration by timing).
local body = '{"email":"' .. (os.getenv("EMAIL") or "nobody@example.com") .. '"}'
request = function()
  return wrk.format("POST", "/password/forgot", { ["Content-Type"] = "application/json" }, body)
end
