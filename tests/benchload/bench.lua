-- wrk script of `make bench-load`: cycles the tokens and bodies `benchload gen` wrote and
-- prints one RESULT line (requests, seconds, p50 µs, p99 µs, errors) for run.sh.
--
--   wrk ... -s bench.lua URL -- MODE DIR [unique]
--
-- MODE: bearer (POST /v1/authorize, token in Authorization), batch (POST /v1/authorize/batch,
-- 10 items), opa (POST /v1/data/bench/opa/decision, token in the input), opa-builtin (POST
-- /v1/data/verdict/authz/decision, the subject and claims Verdict would build in the input).
-- unique: every request names a resource id no other request names.

local counter = 0
local thread_id = 0

local function read_lines(path)
	local lines = {}
	for line in io.lines(path) do
		if line ~= "" then
			lines[#lines + 1] = line
		end
	end
	return lines
end

setup = function(thread)
	thread_id = thread_id + 1
	thread:set("tid", thread_id)
end

init = function(args)
	mode, dir, unique = args[1], args[2], args[3] == "unique"
	tokens = read_lines(dir .. "/tokens.txt")
	subjects = read_lines(dir .. "/subjects.txt")
	bodies = read_lines(dir .. "/bodies.txt")
	now = os.date("!%Y-%m-%dT%H:%M:%SZ")
	path = ({bearer = "/v1/authorize", batch = "/v1/authorize/batch",
		opa = "/v1/data/bench/opa/decision", ["opa-builtin"] = "/v1/data/verdict/authz/decision"})[mode]
	assert(path, "unknown mode " .. tostring(mode))
	prebuilt = {}
	if not unique then
		for i = 1, #tokens do
			prebuilt[i] = build(i, bodies[(i - 1) % #bodies + 1])
		end
	end
end

-- build formats request i (token i) with body.
function build(i, body)
	local headers = {["Content-Type"] = "application/json"}
	if mode == "bearer" or mode == "batch" then
		headers["Authorization"] = "Bearer " .. tokens[i]
	end
	if mode == "batch" then
		local items = {}
		for k = 0, 9 do
			items[#items + 1] = bodies[(i + k - 1) % #bodies + 1]
		end
		body = '{"evaluations":[' .. table.concat(items, ",") .. "]}"
	elseif mode == "opa" then
		body = '{"input":{"token":"' .. tokens[i] .. '",' .. body:sub(2) .. "}"
	elseif mode == "opa-builtin" then
		body = body:gsub('"context":{', '"context":{"time":"' .. now .. '",', 1)
		body = '{"input":{' .. subjects[i] .. "," .. body:sub(2) .. "}"
	end
	return wrk.format("POST", path, headers, body)
end

request = function()
	counter = counter + 1
	local i = (counter - 1) % #tokens + 1
	if not unique then
		return prebuilt[i]
	end
	local body = bodies[(counter - 1) % #bodies + 1]
	body = body:gsub('"id":"doc%-%d+"', '"id":"u' .. tid .. "-" .. counter .. '"', 1)
	return build(i, body)
end

done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT %d %.3f %d %d %d\n", summary.requests, summary.duration / 1e6,
		latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
