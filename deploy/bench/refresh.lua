-- POST /accounts/refresh/, each thread spending its own minted tokens once each.
local counter = 0
function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
end
local tokens, next_index = {}, 0
function init(args)
    for line in io.lines(args[1] .. "/tokens-" .. id .. ".txt") do tokens[#tokens + 1] = line end
end
function request()
    next_index = next_index + 1
    local token = tokens[((next_index - 1) % #tokens) + 1]
    return wrk.format("POST", "/accounts/refresh/", { ["Content-Type"] = "application/json" },
        '{"refresh_token":"' .. token .. '"}')
end
