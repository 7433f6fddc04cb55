# Configures a scratch build with llhttp and BoringSSL pointed at empty folders and checks
# that configuration fails and names both packages.
file(REMOVE_RECURSE ${WORK})
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK} -G Ninja -DLLHTTP_SRC_DIR=/nonexistent
          -DBORINGSSL_INCLUDE_DIR=/nonexistent -DBOTTLE_BENCH=OFF
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(REMOVE_RECURSE ${WORK})
if(rc EQUAL 0)
  message(FATAL_ERROR "configure succeeded with missing dependencies")
endif()
foreach(needle "apt-get install node-llhttp" "apt-get install android-libboringssl-dev"
               "Run scripts/install-deps")
  string(FIND "${err}" "${needle}" pos)
  if(pos EQUAL -1)
    message(FATAL_ERROR "configure error does not mention '${needle}':\n${err}")
  endif()
endforeach()
