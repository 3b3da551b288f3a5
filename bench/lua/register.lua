-- S6: registrations, every name new.
local n = 0
local prefix = os.getenv("PREFIX") or "r"
request = function()
  n = n + 1
  local body = '{"username":"' .. prefix .. n .. '","password":"a benchmark passphrase"}'
  return wrk.format("POST", "/register", { ["Content-Type"] = "application/json" }, body)
end
