# end-to-end tests against real peers
