-- wrk script for the bookshelf harness.
-- Arguments after `--`: [path template with {id}] [low] [high]; each request then asks for a
-- random id in [low, high], so /books/<id> is not one cached row. done() prints one JSON line.
local template, low, high

function init(args)
  template = args[1]
  low = tonumber(args[2])
  high = tonumber(args[3])
  math.randomseed(os.time())
end

function request()
  if template then
    local path = template:gsub("{id}", tostring(math.random(low, high)))
    return wrk.format(nil, path)
  end
  return wrk.request()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
