-- tests/bench/api/wrk.lua — the wrk script of tests/bench/api/run, driven by the environment:
--   BENCH_TOKEN   the Bearer access token
--   BENCH_MIX     requests, separated by ';', each "METHOD PATH" or "POST PATH BODY"; the
--                 threads cycle through them (e.g. a single "GET /api/message_groups")
--   BENCH_CAP     stop each thread after this many responses (0: only wrk's -d bounds it)
local token = os.getenv("BENCH_TOKEN") or ""
local cap = tonumber(os.getenv("BENCH_CAP") or "0")
local mix = {}
for item in string.gmatch(os.getenv("BENCH_MIX") or "GET /api/health-check", "[^;]+") do
  local method, path, body = string.match(item, "^%s*(%S+)%s+(%S+)%s*(.*)$")
  local headers = { ["Authorization"] = "Bearer " .. token }
  if body ~= nil and body ~= "" then
    headers["Content-Type"] = "application/json"
  else
    body = nil
  end
  table.insert(mix, { method = method, path = path, headers = headers, body = body })
end
local i = 0
local n = 0
local bad = 0

request = function()
  i = (i % #mix) + 1
  local r = mix[i]
  return wrk.format(r.method, r.path, r.headers, r.body)
end

response = function(status, headers, body)
  n = n + 1
  if status ~= 200 then
    bad = bad + 1
  end
  if cap > 0 and n >= cap then
    wrk.thread:stop()
  end
end
