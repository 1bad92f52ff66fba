-- Every request gets a URL of its own: <path>?first=<thread>-<count>.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  count = 0
end

function request()
  count = count + 1
  return wrk.format(nil, wrk.path .. "?first=" .. id .. "-" .. count)
end
