-- POST /accounts/register/ with a new address every request (each thread numbers its own).
local counter = 0
function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
end
local n = 0
function request()
    n = n + 1
    return wrk.format("POST", "/accounts/register/", { ["Content-Type"] = "application/json" },
        '{"email":"bench-register-' .. id .. '-' .. n .. '@example.com","password":"Str0ng!Pass"}')
end
