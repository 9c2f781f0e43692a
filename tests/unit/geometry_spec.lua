-- lg.geometry: sizes, tap ranges, counts and their text.
local geometry = require("lg.geometry")

describe("geometry", function()
  it("counts elements", function()
    assert.are.equal(6 * 28 * 28, geometry.elements({ 6, 28, 28 }))
    assert.are.equal(120, geometry.elements({ 120 }))
  end)
  it("computes PyTorch's output size", function()
    assert.are.equal(28, geometry.out_size(28, 5, 1, 2))
    assert.are.equal(14, geometry.out_size(28, 2, 2, 0))
    assert.are.equal(2, geometry.out_size(5, 3, 2, 0))
  end)
  it("clips tap ranges to the image", function()
    -- kernel 5, padding 2, size 28: position 0 starts 2 taps into the window
    assert.are.same({ 2, 4 }, { geometry.tap_range(0, 1, 2, 5, 28) })
    assert.are.same({ 0, 4 }, { geometry.tap_range(2, 1, 2, 5, 28) })
    assert.are.same({ 0, 2 }, { geometry.tap_range(27, 1, 2, 5, 28) })
  end)
  it("sums valid taps over an axis as the brute force does", function()
    for size = 1, 9 do
      for kernel = 1, size + 2 do
        for stride = 1, 3 do
          for pad = 0, 2 do
            if kernel <= size + 2 * pad then
              local count = geometry.out_size(size, kernel, stride, pad)
              local brute = 0
              for o = 0, count - 1 do
                local a, b = geometry.tap_range(o, stride, pad, kernel, size)
                brute = brute + math.max(b - a + 1, 0)
              end
              assert.are.equal(brute, geometry.axis_taps(count, size, kernel, stride, pad))
            end
          end
        end
      end
    end
  end)
  it("handles dilation, asymmetric padding and ceil_mode as PyTorch does", function()
    -- kernel 3 dilation 2 spans 5: 9 + 1 + 0 - 5 = 5, stride 1 -> 6 outputs
    assert.are.equal(6, geometry.out_size(9, 3, 1, 1, 0, 2))
    -- PyTorch AvgPool2d(3, 2, padding 1, ceil_mode) on 6: 4 outputs; on 5 the last
    -- window would start in the trailing padding, so 3
    assert.are.equal(4, geometry.out_size(6, 3, 2, 1, 1, 1, true))
    assert.are.equal(3, geometry.out_size(5, 3, 2, 1, 1, 1, true))
    -- dilation 2, origin -1: taps 0 (index -1) outside, 1 and 2 (indices 1, 3) inside
    assert.are.same({ 1, 2 }, { geometry.tap_range(0, 1, 1, 3, 9, 2) })
    -- kernel 2 dilation 3 on 2 values padded by 1: indices -1 and 2, both outside
    local first, last = geometry.tap_range(0, 1, 1, 2, 2, 3)
    assert.is_true(last < first)
  end)
  it("resolves same and same_lower as ONNX does", function()
    assert.are.same({ 0, 1 }, { geometry.same_padding(8, 2, 1, 1, false) })
    assert.are.same({ 1, 0 }, { geometry.same_padding(8, 2, 1, 1, true) })
    -- size 7, kernel 2, stride 2: output 4, total (4-1)*2 + 2 - 7 = 1
    assert.are.same({ 0, 1 }, { geometry.same_padding(7, 2, 2, 1, false) })
    -- kernel 4 dilation 2 spans 7: total 6, 3 each side
    assert.are.same({ 3, 3 }, { geometry.same_padding(4, 4, 1, 2, true) })
    assert.are.same({ 0, 0 }, { geometry.same_padding(8, 2, 2, 1, false) })
  end)
  it("counts a ceil_mode average's divisor inside the padded input", function()
    -- kernel 3 stride 2 padding 1 on 6: window 3 starts at 5, the padded input ends at 7
    assert.are.equal(3, geometry.padded_taps(0, 2, 1, 1, 3, 6))
    assert.are.equal(2, geometry.padded_taps(3, 2, 1, 1, 3, 6))
  end)
  it("sums dilated, asymmetric valid taps as the brute force does", function()
    for size = 1, 8 do
      for kernel = 1, 4 do
        for dilation = 1, 3 do
          for pad = 0, 3 do
            for pad_end = 0, 2 do
              if geometry.span(kernel, dilation) <= size + pad + pad_end then
                local count = geometry.out_size(size, kernel, 2, pad, pad_end, dilation)
                local brute = 0
                for o = 0, count - 1 do
                  for t = 0, kernel - 1 do
                    local i = o * 2 - pad + t * dilation
                    if i >= 0 and i < size then brute = brute + 1 end
                  end
                end
                assert.are.equal(brute, geometry.axis_taps(count, size, kernel, 2, pad, dilation))
              end
            end
          end
        end
      end
    end
  end)
  it("writes shapes, pairs and buffers", function()
    assert.are.equal("6x28x28", geometry.shape_text({ 6, 28, 28 }))
    assert.are.equal("120", geometry.shape_text({ 120 }))
    assert.are.equal("[6, 1, 5, 5]", geometry.shape_list({ 6, 1, 5, 5 }))
    assert.are.equal("5x3", geometry.pair_text({ h = 5, w = 3 }))
    assert.are.equal("1x2", geometry.padding_text({ top = 1, left = 2, bottom = 1, right = 2 }))
    assert.are.equal("{0, 1, 1, 2}", geometry.padding_text({ top = 0, left = 1, bottom = 1, right = 2 }))
    assert.are.equal("scratch[10..19]", geometry.buffer_text({ kind = "arena", offset = 10 }, 10))
    assert.are.equal("output", geometry.buffer_text({ kind = "output" }, 10))
  end)
end)
