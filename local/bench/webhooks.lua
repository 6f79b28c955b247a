-- Signed Segment webhooks, each from the pre-signed list in $REQUESTS.
package.path = package.path .. ";" .. os.getenv("BENCH_DIR") .. "/?.lua"
require("common")
local requests = {}
local at = 0
function init(args)
  for line in io.lines(os.getenv("REQUESTS")) do
    local body, sig = line:match("^(.*)\t(%x+)$")
    requests[#requests + 1] = wrk.format("POST", "/webhooks/segment",
      { ["Content-Type"] = "application/json", ["X-Signature"] = sig }, body)
  end
  at = math.random(#requests)
end
function request()
  at = at % #requests + 1
  return requests[at]
end
