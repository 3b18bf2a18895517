# -DHB_SANITIZE=ON instruments every target with ASan and UBSan (make sanitize).
if(HB_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
