// The HTTP load of bench:kannel and bench:scale: wrk with a Lua script that sends /send (the
// platform) or Kannel's sendsms with a unique id and destination per request, every message asking
// for a delivery report (the platform: to the partner's status URL; Kannel: to the sink in its
// dlr-url).
//
// The wrk script: one unique id and destination per request; accepted answers counted per
// thread; latency percentiles and counts printed as one JSON line by `done`. A thread sends until
// its deadline (timed run) or its share of the quota (fixed-N run), then leaves its connections
// idle, waits for the answers still in flight and says THREAD-DONE; the bench then ends wrk. So
// every request sent is answered and counted (wrk's own -d would drop the ones in flight).
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { cpuMs } = require('./services');

/** The text of every message (one GSM-7 segment). */
const TEXT = 'Your code is 4711. Do not share it with anyone.';

const WRK_LUA = String.raw`
-- args: mode (kannel|platform), tag, quota (total, 0 = none), threads, sink port, run tag, login, seconds (0 = none),
--       paced rate of this thread (requests/s, 0 = as fast as the answers come)
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local threads = {}
local created = 0

function setup(thread)
  thread:set("tid", created)
  created = created + 1
  table.insert(threads, thread)
end

local function enc(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  mode, tag, run, login = args[1], args[2], args[6], args[7]
  local total, nthreads = tonumber(args[3]), tonumber(args[4])
  sink = "http://127.0.0.1:" .. args[5] .. "/dlr/" .. tag
  quota = 0
  if total > 0 then
    quota = math.floor(total / nthreads)
    if tid < total % nthreads then quota = quota + 1 end
  end
  nthreads_ = nthreads
  local secs = tonumber(args[8])
  local paced = tonumber(args[9] or "0")
  interval = nil
  if paced > 0 then interval = 1000 / paced end
  slot = now_ms()
  deadline = nil
  if secs > 0 then deadline = now_ms() + secs * 1000 end
  finished, closing = false, false
  text = enc("${TEXT}")
  issued, answered, ok, queued, bad = 0, 0, 0, 0, 0
  -- wrk 4.x calls request() once on thread 0 right after init to check the script, and does not
  -- send that request: it must not count against the quota.
  checking = (tid == 0)
end

-- Once the thread sends nothing more (closing) and every request it sent is answered: done.
function maybe_finish()
  if finished or answered < issued then return end
  if closing or (quota > 0 and issued >= quota) or (deadline and now_ms() >= deadline) then
    finished = true
    io.write("THREAD-DONE " .. tid .. "\n")
    io.flush()
    wrk.thread:stop()
  end
end

-- Paced run: every request of the thread takes the next free slot of its schedule (interval ms
-- apart), whichever connection sends it; a late answer does not make the next ones burst.
function delay()
  if not interval then return 0 end
  local now = now_ms()
  slot = math.max(slot + interval, now)
  return math.floor(slot - now)
end

function request()
  if checking then
    checking = false
    return wrk.format("GET", "/")
  end
  if (quota > 0 and issued >= quota) or (deadline and now_ms() >= deadline) then
    -- An empty request leaves the connection idle: no more messages from this thread. The last
    -- answer may have come just before the deadline: then this is where the thread ends.
    closing = true
    maybe_finish()
    return ""
  end
  issued = issued + 1
  local n = issued * nthreads_ + tid
  local id = run .. "." .. tag .. "." .. tid .. "." .. issued
  local to = "7903" .. string.format("%06d", n % 1000000) .. "1"
  if mode == "kannel" then
    local dlr = enc(sink .. "?id=" .. id .. "&t=%d")
    return wrk.format("GET", "/cgi-bin/sendsms?username=bench&password=bench&from=BENCH&to=" .. to .. "&text=" .. text .. "&dlr-mask=1&dlr-url=" .. dlr)
  end
  return wrk.format("GET", "/send?serviceId=" .. login .. "&pass=bench-pass&clientId=" .. to .. "&message=" .. text .. "&partnerMsgId=" .. id)
end

function response(status, headers, body)
  answered = answered + 1
  if mode == "kannel" then
    -- 202 "0: Accepted for delivery" (stored, queued to the SMSC) or "3: Queued for later delivery"
    if status == 202 and string.sub(body, 1, 2) == "0:" then ok = ok + 1
    elseif status == 202 then queued = queued + 1
    else bad = bad + 1 end
  else
    if status == 200 and string.sub(body, 1, 2) == "OK" then ok = ok + 1 else bad = bad + 1 end
  end
  maybe_finish()
end

function done(summary, latency, requests)
  local s = { issued = 0, answered = 0, ok = 0, queued = 0, bad = 0 }
  for _, t in ipairs(threads) do
    for k, _ in pairs(s) do s[k] = s[k] + t:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"issued":%d,"answered":%d,"ok":%d,"queued":%d,"bad":%d,"requests":%d,"durationUs":%d,' ..
    '"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"non2xx3xx":%d,"timeouts":%d}\n',
    s.issued, s.answered, s.ok, s.queued, s.bad, summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
  io.flush()
end
`;

/** Writes the Lua script into `dir` (once per run); runWrk reads it from there. */
function writeLoadScript(dir) {
  fs.writeFileSync(path.join(dir, 'load.lua'), WRK_LUA);
}

/**
 * One wrk run against 127.0.0.1:`port`: `mode` platform (login, pass bench-pass, partnerMsgId =
 * the id) or kannel; for `seconds`, or until `quota` requests (then `seconds` is ignored); paced at
 * `pacedRate` requests/s in all (0: as fast as the answers come). Resolves with the script's counts
 * and latencies, `t0` (start), `t1` (the last answer) and wrk's own CPU ms. `onStart(child)` and
 * `onEnd()` let the caller kill a run in progress.
 */
function runWrk({ dir, port, mode, tag, login, seconds, quota = 0, threads, connections, sinkPort, runTag, pacedRate = 0, onStart = () => {}, onEnd = () => {} }) {
  const args = [
    '-t', String(threads), '-c', String(connections), '-d', `${quota ? 600 : seconds + 60}s`, '--timeout', '30s',
    '-s', path.join(dir, 'load.lua'), `http://127.0.0.1:${port}`,
    '--', mode, tag, String(quota), String(threads), String(sinkPort), runTag, login, String(quota ? 0 : seconds),
    String(pacedRate ? pacedRate / threads : 0),
  ];
  return new Promise((resolve, reject) => {
    const wrk = spawn('wrk', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    onStart(wrk);
    const t0 = Date.now();
    let out = '';
    let done = 0;
    let result = null;
    let lastResponseAt = null;
    let wrkCpuMs = null;
    wrk.stdout.on('data', (chunk) => {
      out += chunk;
      for (;;) {
        const nl = out.indexOf('\n');
        if (nl < 0) break;
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('THREAD-DONE')) {
          lastResponseAt = Date.now();
          if (++done === threads) {
            // wrk's CPU time, read while it still exists (the load generator's share of the machine).
            wrkCpuMs = cpuMs(wrk.pid);
            wrk.kill('SIGINT');
          }
        } else if (line.startsWith('WRKJSON ')) result = JSON.parse(line.slice(8));
      }
    });
    let err = '';
    wrk.stderr.on('data', (c) => (err += c));
    wrk.on('error', reject);
    wrk.on('exit', (code, signal) => {
      onEnd();
      const t1 = Date.now();
      if (!result) return reject(new Error(`wrk ended without a result (${signal ?? code}): ${err}`));
      // Load end: the last thread's last answer (wrk itself is ended a moment later).
      if (done < threads) result.hitLimit = true;
      resolve({ ...result, t0, t1: lastResponseAt ?? t1, wrkCpuMs });
    });
  });
}

module.exports = { TEXT, writeLoadScript, runWrk };
