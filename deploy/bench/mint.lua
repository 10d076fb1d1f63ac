-- Logs in repeatedly and writes each refresh token to a file (one per thread), so the refresh benchmark can spend
-- every token exactly once (a reused token would be refused as a replay, by design).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_MINT_BODY")
local counter = 0
function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
end
local out
function init(args)
    out = io.open(args[1] .. "/tokens-" .. id .. ".txt", "w")
    out:setvbuf("line")
end
function response(status, headers, body)
    if status == 200 then
        local token = body:match('"refresh_token":"([^"]+)"')
        if token then out:write(token, "\n") end
    end
end
