-- wrk script for figure 1: POST realistic signed Compass deliveries, cycling through a file
-- of pre-signed bodies (one "signature<TAB>body" per line, written by throughput.py).
-- Why pre-signed: wrk's Lua has no HMAC; signing in Python beforehand keeps wrk in C for
-- every request, so the load generator is never the bottleneck.
-- Usage: wrk -t1 -c20 -d5s -s wrk_post.lua URL -- BODIES_FILE
local requests = {}
local i = 0

function init(args)
  local path = wrk.path
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    requests[#requests + 1] = wrk.format("POST", path, {
      ["Content-Type"] = "application/json",
      ["X-Compass-Signature"] = line:sub(1, tab - 1),
    }, line:sub(tab + 1))
  end
end

function request()
  i = i % #requests + 1
  return requests[i]
end
