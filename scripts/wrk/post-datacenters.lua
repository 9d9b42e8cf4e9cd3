-- wrk script: each request creates a datacenter with a name unique to its thread and count
-- (POST /api/v1/datacenters), authenticated with the token in $HORAO_TOKEN.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local n = 0
local token = os.getenv("HORAO_TOKEN") or ""
function request()
  n = n + 1
  return wrk.format("POST", "/api/v1/datacenters",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token },
    string.format('{"name": "bench %d-%d"}', tid, n))
end
