-- F1: a flood of the two public routes that store a row for a caller
-- nobody knows yet, from one IPv6 /64 (a new address in it every request):
-- sign-ins started with a provider, each with a 2 KiB return_to, and
-- passkey sign-in options, alternated. Counts the answers: a start sent to
-- the provider (a flow stored), a start sent back to the SPA's login page
-- with too_many_requests (the network's limit, nothing stored), options
-- given (a challenge stored) and options refused (429).
local n = 0
local return_to = "/" .. string.rep("a", 2047)

local tally = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "tally.lua")
tally({
  { 302, "starts stored" },
  { 1302, "starts limited" },
  { 200, "options stored" },
  { 429, "options limited" },
}, function(status, headers)
  local location = headers and (headers["location"] or headers["Location"]) or ""
  if status == 302 and location:find("error=too_many_requests", 1, true) then
    return 1302
  end
  return status
end)

function request()
  n = n + 1
  local from = string.format("2001:db8:5ea7:1::%x", n % 65536)
  if n % 2 == 0 then
    return wrk.format("GET", "/auth/github/start?return_to=" .. return_to,
      { ["X-Forwarded-For"] = from })
  end
  return wrk.format("POST", "/login/passkey/options",
    { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = from }, "{}")
end
