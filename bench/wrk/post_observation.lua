-- wrk script for bench/ingest.py: POSTs one weight Observation per request, each with an
-- identifier of its own (thread, counter and start time), for the patients given.
local counter = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  token = args[1]
  patients = {}
  for i = 2, #args do patients[#patients + 1] = args[i] end
  stamp = tostring(os.time())
end

request = function()
  counter = counter + 1
  local patient = patients[(counter % #patients) + 1]
  local body = '{"resourceType":"Observation","status":"final","identifier":[{"system":' ..
    '"urn:bench:wrk","value":"' .. stamp .. '-' .. tid .. '-' .. counter .. '"}],' ..
    '"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},' ..
    '"subject":{"reference":"Patient/' .. patient .. '"},' ..
    '"effectiveDateTime":"2026-11-23T08:00:00+00:00",' ..
    '"valueQuantity":{"value":80.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}'
  return wrk.format("POST", "/fhir/Observation",
    {["Content-Type"] = "application/fhir+json", ["Authorization"] = "Bearer " .. token}, body)
end

done = function(summary, latency, requests)
  io.write(string.format("WRK %d %d %d\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
