# The core never includes a GUI or keychain header, and tollgated links no GUI or keychain
# library (the console alone reads the keychain).
file(GLOB_RECURSE core_sources ${SOURCE_DIR}/core/*.h ${SOURCE_DIR}/core/*.cpp)
foreach(source ${core_sources})
    file(STRINGS ${source} gui_includes
         REGEX "#include <(QtGui|QtWidgets|QtCharts|QWidget|QApplication|QGuiApplication|QChart|QPainter|QColor|QIcon|qt6keychain|qt5keychain)")
    if(gui_includes)
        message(FATAL_ERROR "${source} includes a GUI header: ${gui_includes}")
    endif()
endforeach()

execute_process(COMMAND readelf -d ${DAEMON} OUTPUT_VARIABLE dynamic RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "readelf failed on ${DAEMON}")
endif()
string(REGEX MATCHALL "Shared library: \\[[^]]+\\]" needed "${dynamic}")
foreach(library ${needed})
    if(library MATCHES "Qt6(Gui|Widgets|Charts|OpenGL)|qt6keychain|libsecret")
        message(FATAL_ERROR "tollgated links a GUI or keychain library: ${library}")
    endif()
endforeach()
list(LENGTH core_sources count)
message(STATUS "${count} core sources include no GUI header; tollgated needs: ${needed}")
